"""Run the smoke test in the target interpreter and judge it (edge).

torch is imported only in that subprocess (``verify_script.py``), with a timeout.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchpin import proc
from torchpin.errors import UsageError, VerifyFailed
from torchpin.facts.snapshot import Catalog
from torchpin.locks.read import read_lock
from torchpin.machine import interpreter
from torchpin.machine.host import Host, decide
from torchpin.models import FLASH_ATTN, PROJECTS, PYG, PythonTarget

from .diagnose import Check, Expect, evaluate, variant_of
from .matching import Build, Matching, installed_version, matching

SCRIPT = Path(__file__).with_name("verify_script.py")
MARKER = "@@torchpin-verify@@"


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]
    python: str

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "ok": self.ok,
            "python": self.python,
            "checks": [
                {"id": c.id, "status": c.status, "detail": c.detail, "cause": c.cause, "fix": c.fix}
                for c in self.checks
            ],
        }


def venv_python(folder: Path) -> Path:
    """A virtual environment's interpreter (the one place that knows the two layouts)."""
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def target_python(explicit: str | None, environ: Mapping[str, str], cwd: Path | None = None) -> str:
    """The interpreter to install into or check, found as uv finds it: --python, then VIRTUAL_ENV,
    then CONDA_PREFIX, then a ``.venv`` in this folder or a parent; then the interpreter running
    torchpin, unless that is torchpin's own tool environment (uv tool, pipx): installing there
    would put torch beside torchpin and nowhere the user's code runs."""
    if explicit:
        path = Path(explicit)
        if path.is_dir():
            path = venv_python(path)
        if not path.exists():
            raise UsageError(
                f"--python {explicit}: no such interpreter", hint="give a python executable or a venv folder"
            )
        return str(path)
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if folder := environ.get(variable):
            candidate = venv_python(Path(folder))
            if variable == "CONDA_PREFIX" and os.name == "nt":
                candidate = Path(folder) / "python.exe"  # conda on Windows keeps it at the root
            if candidate.exists():
                return str(candidate)
    here = (cwd or Path.cwd()).resolve()
    for parent in (here, *here.parents):
        if (candidate := venv_python(parent / ".venv")).exists():
            return str(candidate)
    if interpreter.in_tool_environment():
        raise UsageError(
            f"no environment to use: torchpin runs from its own tool environment ({sys.prefix}), "
            "and no virtual environment is active or in this folder",
            hint="activate one, pass --python PATH, or create one: python -m venv .venv",
        )
    return sys.executable


def run_script(python: str, *, timeout: float) -> list[dict[str, Any]]:
    """The raw findings of verify_script.py, run as the user's code would run in that interpreter."""
    argv = [python, str(SCRIPT)]
    try:
        done = proc.run(argv, timeout=timeout)
    except proc.TimedOut:
        raise VerifyFailed(
            f"the checks did not finish within {timeout:g} s in {python} (a hung GPU or driver?)"
        ) from None
    except proc.NotStarted as e:
        raise UsageError(f"cannot run {python}: {e.reason}") from None
    _, marker, payload = done.stdout.rpartition(MARKER)
    if not marker:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise VerifyFailed(f"the checks crashed in {python} (exit {done.returncode}): {' | '.join(tail)[:300]}")
    checks: list[dict[str, Any]] = json.loads(payload)["checks"]
    return checks


def expectation(
    raw: list[dict[str, Any]], lock_text: str | None, catalog: Catalog, host: Host | None, environ: Mapping[str, str]
) -> Expect:
    """What should be there: the lock's pins, else the installed torch's own pairing."""
    accel = decide(host)[0] if host else None
    gpu_kind = accel.kind if accel else "none"
    driver_cuda = host.nvidia.cuda_max if host and host.nvidia else None
    docker = bool(host and host.container and gpu_kind in ("none",) and host.cuda_hint)
    extensions = _matching(raw, catalog)
    if lock_text:
        view = read_lock(lock_text)
        # A --full lock pins filelock and friends too; the smoke test reads the torch family only.
        family = {k: v for k, v in view.pins.items() if k in PROJECTS}
        return Expect(
            family, view.variant, view.index_url, gpu_kind, driver_cuda, docker, locked=True, matching=extensions
        )
    found: dict[str, Any] = next((r["raw"] for r in raw if r["id"] == "installed-set"), {})
    builds: dict[str, Any] = found.get("builds", {})
    dists: dict[str, Any] = found.get("dists", {})
    torch_vp = builds.get("torch", {}).get("version_py", {})
    variant = variant_of(torch_vp) if torch_vp else None
    pins: dict[str, str] = {}
    if variant and "torch" in dists:
        public = dists["torch"][0]["version"].split("+")[0]
        release = catalog.release(public)
        local = "" if variant == "cpu" and "+" not in dists["torch"][0]["version"] else f"+{variant}"
        pins["torch"] = public + local
        for name in ("torchvision", "torchaudio", "torchcodec"):
            if name in dists and release and name in release.companions:
                pins[name] = release.companions[name].version + local
    return Expect(pins, variant, None, gpu_kind, driver_cuda, docker, matching=extensions)


def _matching(raw: list[dict[str, Any]], catalog: Catalog) -> dict[str, Matching]:
    """For each installed flash-attn or PyG extension, the wheel that loads against the torch there."""
    by_id = {r["id"]: r["raw"] for r in raw}
    dists: dict[str, Any] = by_id.get("installed-set", {}).get("dists", {})
    identity, interp = by_id.get("build-identity"), by_id.get("interpreter")
    if not identity or not interp or not any(p in dists for p in (FLASH_ATTN, *PYG)):
        return {}
    variant = variant_of({"__version__": identity["version"], "cuda": identity["cuda"], "hip": identity["hip"]})
    major, minor = (int(x) for x in str(interp["version"]).split(".")[:2])
    python = PythonTarget(major, minor, bool(interp.get("freethreaded")))
    build = Build(identity["version"], variant or "cpu", identity.get("cxx11_abi"), python, interp.get("platform"))
    out = {}
    for project in (FLASH_ATTN, *PYG):
        if project in dists and (m := matching(catalog, project, installed_version(dists[project][0]), build)):
            out[project] = m
    return out


def env_warnings(environ: Mapping[str, str]) -> list[str]:
    """Index settings that let a later `pip install` swap torch for another build [FM-02]."""
    found = []
    for var in ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        if environ.get(var):
            found.append(f"{var} is set: a later pip/uv install may take torch from it [FM-02]")
    configs = [Path("/etc/pip.conf"), Path.home() / ".config/pip/pip.conf", Path.home() / ".pip/pip.conf"]
    if environ.get("VIRTUAL_ENV"):
        configs.append(Path(environ["VIRTUAL_ENV"]) / "pip.conf")
    if environ.get("PIP_CONFIG_FILE"):
        configs = [Path(environ["PIP_CONFIG_FILE"])]
    for config in configs:
        try:
            text = config.read_text()
        except OSError:
            continue
        if re.search(r"^\s*extra[-_]index[-_]url\s*=", text, re.MULTILINE):
            found.append(f"{config} sets extra-index-url: a later `pip install` may replace torch [FM-02]")
    return found


def verify_python(
    python: str,
    *,
    lock_text: str | None,
    catalog: Catalog,
    host: Host | None,
    environ: Mapping[str, str],
    timeout: float = 120.0,
) -> Report:
    raw = run_script(python, timeout=timeout)
    expect = expectation(raw, lock_text, catalog, host, environ)
    checks = evaluate(raw, expect, env_warnings(environ))
    return Report(tuple(checks), python)
