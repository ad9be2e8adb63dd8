"""Command bodies for install, verify and doctor (kept apart so `lock` imports none of it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .commands import IndexOptions, Probe, endpoints, make_plan, resolve_target
from .errors import TorchpinError
from .lockfile import render
from .models import PROJECTS, Installer, Requirement
from .snapshot import load_catalog
from .targets import TargetFlags, build_target

if TYPE_CHECKING:
    from pathlib import Path

    from .lockread import LockView
    from .verify import Report


def run_verify(
    python: str | None, lock_file: str | None, *, timeout: float, snapshot: Callable[[], bytes],
    probe: Probe | None = None,
) -> Report:  # fmt: skip
    """The verify report for an interpreter, compared with a lock when one is given."""
    from pathlib import Path

    from .verify import target_python, verify

    probe = probe or Probe()
    environ = probe.environ
    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    from .reqfile import read_text

    lock_text = read_text(Path(lock_file)) if lock_file else None
    report = verify(
        target_python(python, environ), lock_text=lock_text, catalog=catalog, host=probe.host(),
        environ=environ, timeout=timeout,
    )  # fmt: skip
    return report


def run_doctor(python: str | None, *, snapshot: Callable[[], bytes]) -> tuple[Report, str | None]:
    """verify without a lock, plus the one `torchpin install` command for this machine."""
    probe = Probe()
    report = run_verify(python, None, timeout=120.0, snapshot=snapshot, probe=probe)
    if report.ok and not any(c.status == "warn" and c.id in ("installed-set", "build-identity") for c in report.checks):
        return report, None
    # Keep the user's torch release and companions when a build of it fits this machine.
    from packaging.specifiers import SpecifierSet

    from .install import installed_family

    installed = installed_family(report.python)
    names = [n for n in PROJECTS if n in installed] or ["torch"]
    attempts = []
    if "torch" in installed:
        public = installed["torch"].split("+")[0]
        attempts.append([Requirement("torch", SpecifierSet(f"=={public}")), *(Requirement(n) for n in names[1:])])
    attempts.append([Requirement(n) for n in (names if len(names) > 1 else ["torch", "torchvision", "torchaudio"])])
    plan = None
    for wanted in attempts:
        try:
            plan, _ = make_plan(wanted, TargetFlags(), IndexOptions(offline=True), snapshot=snapshot, probe=probe)
            break
        except TorchpinError as e:
            last = e.message
    if plan is None:
        return report, f"(no build fits this machine: {last})"
    pins = " ".join(f"{p.project}=={p.version}" for p in plan.pins)
    python_flag = f" --python {report.python}" if python else ""
    return report, f"torchpin install {pins} --backend {plan.variant}{python_flag}"


@dataclass(frozen=True)
class InstallOptions:
    installer: Installer = "auto"
    python: str | None = None
    dry_run: bool = False
    verify: bool = True
    lock_path: str = "torchpin.lock.txt"
    require_hashes: bool = False
    timeout: float = 120.0


def run_install(
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    opts: InstallOptions,
    *,
    snapshot: Callable[[], bytes],
) -> Report | None:
    """Plan → lock file → (verified wheels) → installer → verify. Returns the verify report or None."""
    import sys
    import tempfile
    from pathlib import Path

    from . import install as inst
    from .errors import InstallFailed, NoCompatibleBuild
    from .files import write_user_file
    from .verify import target_python

    probe = Probe()
    environ = probe.environ
    python = target_python(opts.python, environ)
    plan, notes = make_plan(requirements, flags, index, snapshot=snapshot, probe=probe)
    for note in notes:
        sys.stderr.write(note)
    unknown = [p.project for p in plan.pins if not (p.wheel and p.wheel.sha256)]
    if opts.require_hashes and unknown:
        raise NoCompatibleBuild(
            f"no public sha256 for {', '.join(unknown)} ({plan.source} data)",
            hint="drop --require-hashes, or lock from the live index",
        )
    lock_text = render(plan, "requirements")
    installer, uv = inst.choose_installer(opts.installer, python)
    before = inst.installed_family(python)
    stale = inst.stale_family(before, plan)
    policy = endpoints(index, environ).policy()
    options, index_env = inst.index_options(installer, inst.index_args(plan), policy.credentials)
    pins = [f"{p.project}=={p.version}" for p in plan.pins]
    if opts.dry_run:
        from .render import explain
        from .urls import mask

        shown_env = "".join(f"{k}={mask(v)} " for k, v in index_env.items())
        sys.stderr.write(explain(plan))
        if stale:
            sys.stderr.write("would run: " + " ".join(inst.uninstall_argv(installer, python, uv, stale)) + "\n")
        argv = inst.install_argv(installer, python, uv, options, pins)
        sys.stderr.write("would run: " + shown_env + " ".join(argv) + "\n")
        sys.stderr.write(f"would write the lock to {opts.lock_path}\n")
        return None
    write_user_file(Path(opts.lock_path), lock_text)
    sys.stderr.write(f"torchpin: wrote {opts.lock_path} (torch {plan.release}, {plan.variant}, {plan.source})\n")
    with tempfile.TemporaryDirectory(prefix="torchpin-") as tmp:
        files = inst.download_verified(plan.pins, Path(tmp), policy)
        targets = [str(files[p.project]) if p.project in files else f"{p.project}=={p.version}" for p in plan.pins]
        if stale:
            sys.stderr.write(
                f"torchpin: removing {', '.join(stale)}: other builds than {plan.variant} would be left mixed\n"
            )
            inst.run(inst.uninstall_argv(installer, python, uv, stale), secrets=policy.secrets())
        sys.stderr.write(f"torchpin: installing with {installer} into {python}\n")
        code = inst.run(inst.install_argv(installer, python, uv, options, targets), index_env, policy.secrets())
    if code != 0:
        after = inst.installed_family(python)
        changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        state = ", ".join(f"{n} {after[n]}" for n in sorted(after)) or "no torch-family package"
        what = f"changed: {', '.join(changed)}" if changed else "nothing changed"
        raise InstallFailed(
            f"{installer} failed (exit {code}); now installed: {state}; {what}; the lock {opts.lock_path} is intact",
            hint=f"fix the error above, then: {installer} install -r {opts.lock_path}",
        )
    if not opts.verify:
        return None
    from .verify import verify

    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    return verify(python, lock_text=lock_text, catalog=catalog, host=probe.host(), environ=environ,
                  timeout=opts.timeout)  # fmt: skip


def run_install_lock(lock_file: str, opts: InstallOptions, *, snapshot: Callable[[], bytes]) -> Report | None:
    """Install any lock torchpin wrote as it stands (a multi-target lock: this machine's entry), then
    verify against it. The lock's own index lines, URLs and hashes decide; nothing is re-planned."""
    import sys
    import tempfile
    from pathlib import Path

    from . import install as inst
    from .errors import InstallFailed, UsageError
    from .lockread import read_lock
    from .reqfile import read_text
    from .verify import target_python

    text = read_text(Path(lock_file))
    view = read_lock(text)
    family = {k: v for k, v in view.pins.items() if k in PROJECTS}
    if not family:
        raise UsageError(f"{lock_file} pins no torch-family package for this machine",
                         hint="pass a lock written by `torchpin lock` (with --add for a pyproject)")  # fmt: skip
    probe = Probe()
    python = target_python(opts.python, probe.environ)
    installer, uv = inst.choose_installer(opts.installer, python)
    if view.kind in ("pyproject", "pylock") and installer != "uv":
        raise UsageError(f"a {view.kind} lock installs with uv (pip reads neither [tool.uv.sources] nor pylock.toml)",
                         hint="pip install uv, or drop --installer pip")  # fmt: skip
    before = inst.installed_family(python)
    stale = inst.stale_builds(before, family, view.variant)  # left mixed beside the lock's torch otherwise
    with tempfile.TemporaryDirectory(prefix="torchpin-lock-") as tmp:
        source = _installable(lock_file, text, view, Path(tmp))
        argv = inst.install_argv(installer, python, uv, [], ["-r", source])
        if opts.dry_run:
            if stale:
                sys.stderr.write("would run: " + " ".join(inst.uninstall_argv(installer, python, uv, stale)) + "\n")
            sys.stderr.write("would run: " + " ".join(argv) + "\n")
            return None
        if stale:
            sys.stderr.write(
                f"torchpin: removing {', '.join(stale)}: other builds than {view.variant} would be left mixed\n"
            )
            inst.run(inst.uninstall_argv(installer, python, uv, stale))
        sys.stderr.write(f"torchpin: installing {lock_file} ({view.kind}) with {installer} into {python}\n")
        code = inst.run(argv)
    if code != 0:
        after = inst.installed_family(python)
        state = ", ".join(f"{n} {after[n]}" for n in sorted(after)) or "no torch-family package"
        raise InstallFailed(f"{installer} failed (exit {code}); now installed: {state}")
    if not opts.verify:
        return None
    from .verify import verify

    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    return verify(python, lock_text=text, catalog=catalog, host=probe.host(), environ=probe.environ,
                  timeout=opts.timeout)  # fmt: skip


def _installable(lock_file: str, text: str, view: LockView, tmp: Path) -> str:
    """What the installer's ``-r`` takes: the lock itself, or (JSON, constraints) a requirements file
    with its pins and index options; uv knows pylock and pyproject files by their names."""
    if view.kind == "requirements":
        return lock_file
    if view.kind in ("pylock", "pyproject"):
        from pathlib import Path

        name = Path(lock_file).name
        wanted = "pyproject.toml" if view.kind == "pyproject" else "pylock.toml"
        if name == wanted or (view.kind == "pylock" and name.startswith("pylock.") and name.endswith(".toml")):
            return lock_file
        (tmp / wanted).write_text(text)
        return str(tmp / wanted)
    options = list(view.index_options) or ([("--extra-index-url", view.index_url)] if view.index_url else [])
    lines = [f"{flag} {url}" for flag, url in options] + [f"{k}=={v}" for k, v in view.pins.items()]
    (tmp / "requirements.txt").write_text("\n".join(lines) + "\n")
    return str(tmp / "requirements.txt")


def run_detect(snapshot: Callable[[], bytes], environ: dict[str, str], flags: TargetFlags) -> dict[str, Any]:
    """The detect document, with the build `torchpin lock --offline` would choose with the same options."""
    from .detect import detect_host
    from .errors import TorchpinError
    from .host import host_json, host_target
    from .options import ENV_VARS

    host = detect_host(environ)
    overrides = {k: v for k, v in environ.items() if k in (*ENV_VARS, "TORCHPIN_SYSROOT")}
    doc = host_json(host, overrides)
    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    try:
        if flags.no_detect:  # the same path `lock --no-detect` takes
            target, _ = resolve_target(flags, catalog.variant_names)
        else:
            target = build_target(flags, host_target(host), catalog.variant_names)
        from .policy import select
        from .targets import applicable

        plan = select(target, catalog, applicable((), target))
        doc["would_choose"] = {
            "backend": plan.variant.name,
            "index_url": plan.index_url,
            "packages": [f"{p.project}=={p.version}" for p in plan.pins],
            "why": plan.why,
        }
    except TorchpinError as e:
        doc["would_choose"] = {"error": str(e), "exit_code": e.exit_code}
    return doc
