"""Install a plan with pip or uv (edge): pure argv builders and one subprocess choke point."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import InstallFailed, UsageError
from .models import Pin, Plan

FAMILY = ("torch", "torchvision", "torchaudio", "torchcodec")


def index_args(plan: Plan) -> list[str]:
    """The lock's index lines as installer options (same layout, same reasons)."""
    if plan.on_pypi:
        return ["--index-url", plan.index_url]
    if plan.find_links:
        return ["--index-url", plan.pypi_url, "--find-links", plan.index_url]
    return ["--index-url", plan.pypi_url, "--extra-index-url", plan.index_url]


def install_argv(
    installer: str, python: str, uv: str | None, options: Sequence[str], targets: Sequence[str]
) -> list[str]:
    if installer == "uv":
        return [uv or "uv", "pip", "install", "--python", python, *options, *targets]
    return [python, "-m", "pip", "install", "--disable-pip-version-check", *options, *targets]


def uninstall_argv(installer: str, python: str, uv: str | None, names: Sequence[str]) -> list[str]:
    if installer == "uv":
        return [uv or "uv", "pip", "uninstall", "--python", python, *names]
    return [python, "-m", "pip", "uninstall", "-y", "--disable-pip-version-check", *names]


def choose_installer(choice: str, python: str) -> tuple[str, str | None]:
    """auto: uv when it can be found (on PATH or beside this interpreter), else pip."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if choice == "uv" and uv is None:
        raise UsageError("--installer uv: uv is not installed", hint="pip install uv, or use --installer pip")
    if choice in ("uv", "auto") and uv:
        return "uv", uv
    return "pip", None


def installed_family(python: str) -> dict[str, str]:
    """project -> version of the torch family in that interpreter (no import of torch)."""
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()"
        f" if (d.metadata['Name'] or '').lower() in {list(FAMILY)!r}}}))"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    try:
        found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
        return found
    except (ValueError, IndexError):
        raise UsageError(f"cannot read the packages of {python}: {done.stderr.strip()[-200:]}") from None


def stale_family(installed: Mapping[str, str], plan: Plan) -> list[str]:
    """Installed torch-family projects the plan does not pin and whose build differs from it:
    left alone they would sit next to the new torch as a mismatched pair."""
    pinned = {p.project for p in plan.pins}
    variant = plan.variant.name
    out = []
    for name, version in installed.items():
        if name in pinned:
            continue
        local = version.split("+", 1)[1] if "+" in version else None
        if local != variant:
            out.append(name)
    return sorted(out)


def run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """The one place an installer runs: its output streams to our stderr (stdout is the lock's)."""
    try:
        return subprocess.run(
            list(argv), stdout=sys.stderr, stderr=sys.stderr, env=dict(env or os.environ), check=False
        ).returncode
    except OSError as e:
        raise InstallFailed(f"cannot run {argv[0]}: {e.strerror}") from None


def download_verified(pins: Sequence[Pin], dest: Path, *, cert: str | None = None) -> dict[str, Path]:
    """Fetch each pin's wheel whose URL and sha256 are known and check the hash before install.

    A mismatch stops everything before the installer runs: nothing gets installed.
    """
    import httpx

    from .urls import mask

    out: dict[str, Path] = {}
    verify: bool | str = cert or os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE") or True
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=True, verify=_ssl(verify)) as client:
        for pin in pins:
            wheel = pin.wheel
            if wheel is None or not wheel.url or not wheel.sha256:
                continue
            path = dest / wheel.filename
            digest = hashlib.sha256()
            start = time.monotonic()
            try:
                with client.stream("GET", wheel.url) as response, path.open("wb") as f:
                    if response.status_code != 200:
                        raise InstallFailed(f"{mask(wheel.url)}: HTTP {response.status_code}; nothing was installed")
                    progress = _Progress(wheel.filename, int(response.headers.get("content-length", 0)))
                    for chunk in response.iter_bytes(1 << 20):
                        digest.update(chunk)
                        f.write(chunk)
                        progress.advance(len(chunk))
                    progress.done()
            except httpx.HTTPError as e:
                raise InstallFailed(
                    f"downloading {wheel.filename} failed ({type(e).__name__}); nothing was installed"
                ) from None
            if digest.hexdigest() != wheel.sha256:
                got = digest.hexdigest()
                raise InstallFailed(
                    f"sha256 mismatch for {wheel.filename}: expected {wheel.sha256[:16]}…, got {got[:16]}…;"
                    " nothing was installed"
                )
            size = path.stat().st_size / 1e6
            print(
                f"torchpin: {wheel.filename}: {size:.1f} MB, sha256 ok ({time.monotonic() - start:.1f} s)",
                file=sys.stderr,
            )
            out[pin.project] = path
    return out


def _ssl(verify: bool | str) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


class _Progress:
    """Download progress on stderr: a live percentage on a terminal, a start line elsewhere."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total, self.seen, self.shown = name, total, 0, -1
        self.tty = sys.stderr.isatty()
        if total > 20_000_000:
            print(f"torchpin: downloading {name} ({total / 1e6:.1f} MB)", file=sys.stderr, flush=True)

    def advance(self, n: int) -> None:
        self.seen += n
        if self.tty and self.total:
            pct = 100 * self.seen // self.total
            if pct != self.shown:
                self.shown = pct
                print(f"\r  {self.name}: {pct:3d}%", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty and self.shown >= 0:
            print(file=sys.stderr)
