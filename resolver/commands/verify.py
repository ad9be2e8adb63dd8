"""``torchpin verify`` and ``torchpin doctor``: the smoke test, and the one install command that fixes it."""

from __future__ import annotations

from pathlib import Path

from packaging.specifiers import SpecifierSet

from torchpin import envs, locks
from torchpin.decide.targets import TargetFlags
from torchpin.envs.install import installed_family
from torchpin.errors import TorchpinError
from torchpin.models import PROJECTS, TRIO, Plan, Requirement

from .context import Context, IndexOptions
from .plan import make_plan


def run_verify(ctx: Context, python: str | None, lock_file: str | None, *, timeout: float) -> envs.Report:
    """The verify report for an interpreter, compared with a lock when one is given."""
    lock_text = locks.read_text(Path(lock_file)) if lock_file else None
    return envs.verify_python(
        envs.target_python(python, ctx.environ),
        lock_text=lock_text,
        catalog=ctx.catalog(),
        host=ctx.host(),
        environ=ctx.environ,
        timeout=timeout,
    )


def run_doctor(ctx: Context, python: str | None) -> tuple[envs.Report, str | None]:
    """verify without a lock, plus the one `torchpin install` command for this machine."""
    report = run_verify(ctx, python, None, timeout=120.0)
    if report.ok and not any(c.status == "warn" and c.id in ("installed-set", "build-identity") for c in report.checks):
        return report, None
    # Keep the user's torch release and companions when a build of it fits this machine.
    installed = installed_family(report.python)
    names = [n for n in PROJECTS if n in installed] or ["torch"]
    attempts = []
    if "torch" in installed:
        public = installed["torch"].split("+")[0]
        attempts.append([Requirement("torch", SpecifierSet(f"=={public}")), *(Requirement(n) for n in names[1:])])
    attempts.append([Requirement(n) for n in (names if len(names) > 1 else TRIO)])
    plan: Plan | None = None
    last = ""
    for wanted in attempts:
        try:
            plan = make_plan(ctx, wanted, TargetFlags(), IndexOptions(offline=True), python=report.python)
            break
        except TorchpinError as e:
            last = e.message
    if plan is None:
        return report, f"(no build fits this machine: {last})"
    pins = " ".join(f"{p.project}=={p.version}" for p in plan.pins)
    python_flag = f" --python {report.python}" if python else ""
    return report, f"torchpin install {pins} --backend {plan.variant}{python_flag}"
