"""Install a plan with pip or uv (edge): pure argv builders; the installer runs through ``proc``."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from packaging.version import Version

from torchpin import net, proc
from torchpin.errors import IndexUnavailable, InstallFailed, UsageError
from torchpin.facts.pyg import local_tag, minor_of
from torchpin.locks.requirements import index_lines
from torchpin.models import PROJECTS, PYG, Installer, Pin, Plan, WheelFile
from torchpin.net.policy import NetPolicy
from torchpin.net.urls import Credential, allowed, mask, origin, scrub, with_credential


def find_uv() -> str | None:
    """uv on PATH, or beside this interpreter (a venv with uv installed but not activated)."""
    return shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


def index_args(plan: Plan) -> list[str]:
    """The plan's index options for pip and uv alike, the lock's own lines: PyPI, and the family's
    variant pages as find-links pages (``locks.index_lines``)."""
    return [part for line in index_lines(plan) for part in line]


def _env_name(installer: str, flag: str) -> str:
    """pip and uv read every option from an environment variable: ``--extra-index-url`` → ``PIP_EXTRA_INDEX_URL``."""
    return f"{installer.upper()}_{flag.removeprefix('--').upper().replace('-', '_')}"


def installer_index_args(
    installer: str, options: Sequence[str], credentials: Sequence[Credential], trusted_hosts: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """(argv options, environment) for the installer: every URL meets the URL policy (the one
    door index options pass to pip and uv), and an index that needs a credential the user gave in
    its URL is handed over in the installer's environment, never in argv or a file."""
    net.check_all(options[1::2], trusted_hosts, f"{installer} would be sent to")
    argv: list[str] = []
    env: dict[str, str] = {}
    for flag, url in zip(options[::2], options[1::2], strict=True):
        cred = next((c for c in credentials if c.origin == origin(url)), None)
        if cred is None:
            argv += [flag, url]
        else:
            name = _env_name(installer, flag)
            # Several pages of one private mirror share the variable: uv splits UV_FIND_LINKS on
            # commas, pip and uv split the other list options on spaces.
            sep = "," if name == "UV_FIND_LINKS" else " "
            env[name] = sep.join([*filter(None, [env.get(name)]), with_credential(url, cred)])
    return argv, env


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


def choose_installer(choice: Installer, python: str) -> tuple[str, str | None]:
    """auto: uv when it can be found (on PATH or beside this interpreter), else pip."""
    uv = find_uv()
    if choice == "uv" and uv is None:
        raise UsageError("--installer uv: uv is not installed", hint="pip install uv, or use --installer pip")
    if choice in ("uv", "auto") and uv:
        return "uv", uv
    if not has_pip(python):
        raise UsageError(
            f"{'--installer pip: ' if choice == 'pip' else ''}pip is not installed in {python}"
            + ("" if choice == "pip" else ", and uv was not found"),
            hint=f"{python} -m ensurepip, or install uv",
        )
    return "pip", None


def installed_family(python: str) -> dict[str, str]:
    """project -> version of the torch family in that interpreter (no import of torch)."""
    code = (
        # flash-attn and PyG's wheels name themselves flash_attn, torch_scatter …: normalised (PEP 503)
        "import importlib.metadata as m, json, re;"
        "n=lambda d: re.sub('[-_.]+', '-', d.metadata['Name'] or '').lower();"
        f"print(json.dumps({{n(d): d.version for d in m.distributions() if n(d) in {list(PROJECTS)!r}}}))"
    )
    try:
        done = proc.run([python, "-c", code], timeout=60)
    except (proc.NotStarted, proc.TimedOut) as e:
        raise UsageError(f"cannot read the packages of {python}: {e}") from None
    try:
        found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
        return found
    except (ValueError, IndexError):
        raise UsageError(f"cannot read the packages of {python}: {done.stderr.strip()[-200:]}") from None


def stale_family(installed: Mapping[str, str], plan: Plan) -> list[str]:
    """Installed torch-family projects the plan does not pin and whose build differs from it:
    left alone they would sit next to the new torch as a mismatched pair."""
    return stale_builds(installed, {p.project for p in plan.pins}, plan.variant.name, str(plan.release))


def stale_builds(
    installed: Mapping[str, str], pinned: Collection[str], variant: str | None, torch: str | None = None
) -> list[str]:
    """Installed projects not in ``pinned`` whose local tag (build) is not ``variant``'s; a PyG
    extension's tag names torch's minor too (``pt26cu124``), so it is stale beside another torch."""

    def build(project: str) -> str | None:
        if project in PYG and torch and variant:
            return local_tag(minor_of(Version(torch).public), variant)
        return variant

    return sorted(n for n, v in installed.items() if n not in pinned and (v.partition("+")[2] or None) != build(n))


def run(
    argv: Sequence[str],
    environ: Mapping[str, str],
    say: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
) -> int:
    """The one place an installer runs: its output goes to ``say`` (stderr; stdout is the lock's).

    ``env`` is added to the command's ``environ`` (the installer's index credentials); its
    output passes through line by line with those secrets masked, since pip prints index URLs
    with the user name left in. The installer is stopped if torchpin is interrupted.
    """
    hidden = sorted({s for secret in secrets for s in (secret, quote(secret, safe=""))}, key=len, reverse=True)

    def show(line: str) -> None:
        line = scrub(line)
        for secret in hidden:
            line = line.replace(secret, "****")
        say(line)

    try:
        return proc.run(argv, env={**environ, **(env or {})}, stream=show).returncode
    except proc.NotStarted as e:
        raise InstallFailed(str(e)) from None


def has_pip(python: str) -> bool:
    try:
        return proc.run([python, "-c", "import pip"], timeout=60).returncode == 0
    except (proc.NotStarted, proc.TimedOut):
        return False


def self_checked(pins: Sequence[Pin], installer: str, uv: str | None, credentials: Sequence[Credential]) -> list[Pin]:
    """The pins whose sha256 torchpin fetches and checks itself, streaming, and hands the
    installer as checked files. uv checks the rest as it downloads them (``handed_line``), from
    its cache when warm: torchpin reading them too would read each GB-size wheel twice. pip gets
    every file checked by torchpin: its own download of a GB-size wheel, through its HTTP cache,
    costs more than torchpin's and its install of the local file together (BENCHMARKS.md, the
    install table). Left to torchpin with uv too: every file for a uv older than 0.4.0
    (``uv_checks_url_hashes``), and a file on a host uv can't
    reach as torchpin does (a credential the user gave for that origin; plain http elsewhere
    than loopback)."""
    hashed = [p for p in pins if p.wheel is not None and p.wheel.url and p.wheel.sha256]
    if not hashed or installer != "uv" or not (uv and uv_checks_url_hashes(uv)):
        return hashed
    private = {c.origin for c in credentials}
    # allowed(url, no trusted host) names a refusal unless it is https, or plain http to loopback
    return [
        p for p in hashed if p.wheel and p.wheel.url and (origin(p.wheel.url) in private or allowed(p.wheel.url, ()))
    ]


def handed_line(project: str, version: str, wheel: WheelFile, direct: bool) -> str:
    """The requirement that hands uv a wheel and its sha256 to check: ``name==version
    --hash=sha256:…`` where the lock's pages list the file (uv reads its METADATA from the page's
    PEP 658 sidecar, and a warm install from its cache, whereas a direct URL it reads for its
    METADATA first, the whole wheel where the host serves no byte ranges, and then again to
    install it); ``name @ URL#sha256=…`` for a file only its URL tells apart (``direct``: an
    untagged build whose name PyPI also has)."""
    assert wheel.url and wheel.sha256
    if not direct:
        return f"{project}=={version} --hash=sha256:{wheel.sha256}"
    return f"{project} @ {wheel.url.split('#')[0]}#sha256={wheel.sha256}"


# How pip and uv refuse a file whose sha256 is not the one they were given.
_HASH_REFUSED = re.compile(r"THESE PACKAGES DO NOT MATCH THE HASHES|Hash mismatch for")
# What they name: pip the file's URL on a following line, uv the requirement in backticks.
_WHEEL = re.compile(r"[\w.+-]+\.whl|(?<=Hash mismatch for `)[^`]+")


def hash_refusal(output: Sequence[str]) -> str | None:
    """The installer's hash refusal, said as torchpin says its own: which file, if it named one."""
    at = next((i for i, line in enumerate(output) if _HASH_REFUSED.search(line)), None)
    if at is None:
        return None
    named = next((m[0] for line in output[at:] if (m := _WHEEL.search(line.replace("%2B", "+")))), None)
    return f"sha256 mismatch for {named or 'a downloaded file'}: not the lock's; nothing was installed"


def uv_checks_url_hashes(uv: str) -> bool:
    """Whether uv checks every hash ``handed_line`` gives it: a requirement's ``--hash`` under
    ``--verify-hashes`` (which torchpin passes) from 0.2.27 (astral-sh/uv#4007), a URL's
    ``#sha256=`` from 0.4.0 (#6731). An older uv would install the file unchecked."""
    try:
        done = proc.run([uv, "--version"], timeout=30)
    except (proc.NotStarted, proc.TimedOut):
        return False
    m = re.match(r"uv (\d+)\.(\d+)\.(\d+)", done.stdout.strip())
    return m is not None and (int(m[1]), int(m[2])) >= (0, 4)


def download_verified(
    pins: Sequence[Pin],
    dest: Path,
    policy: NetPolicy,
    say: Callable[[str], None],
    *,
    tty: bool = False,
    deadline: float = 3600.0,
) -> dict[str, Path]:
    """Fetch each pin's wheel whose URL and sha256 are known and check the hash before install.

    Same client, credentials, proxies and CA bundle as the page reads (``net``); every hop is
    checked. A mismatch stops everything before the installer runs: nothing gets installed.
    """

    wanted = [p for p in pins if p.wheel is not None and p.wheel.url and p.wheel.sha256]
    work = _download_all(wanted, dest, policy, say, tty)
    return net.run_within(deadline, work, "downloading the wheels")


async def _download_all(
    pins: Sequence[Pin], dest: Path, policy: NetPolicy, say: Callable[[str], None], tty: bool
) -> dict[str, Path]:
    out: dict[str, Path] = {}
    async with net.client(policy) as session:
        for pin in pins:
            wheel = pin.wheel
            assert wheel is not None and wheel.url and wheel.sha256
            name = Path(wheel.filename).name  # the lock's name, never a path
            path = dest / name
            digest = hashlib.sha256()
            start = time.monotonic()
            try:
                async with net.open_url(session, policy, wheel.url) as (response, _final):
                    if response.status_code != 200:
                        raise InstallFailed(f"{mask(wheel.url)}: HTTP {response.status_code}; nothing was installed")
                    progress = _Progress(name, int(response.headers.get("content-length", 0) or 0), say, tty)
                    with path.open("wb") as f:
                        async for chunk in response.aiter_bytes(1 << 20):
                            digest.update(chunk)
                            f.write(chunk)
                            progress.advance(len(chunk))
                    progress.done()
            except IndexUnavailable as e:  # a hop the policy refuses, or a redirect loop
                raise InstallFailed(f"downloading {name}: {e.message}; nothing was installed") from None
            except net.HTTPError as e:
                raise InstallFailed(f"downloading {name} failed ({net.describe(e)}); nothing was installed") from None
            if digest.hexdigest() != wheel.sha256:
                got = digest.hexdigest()
                raise InstallFailed(
                    f"sha256 mismatch for {name}: expected {wheel.sha256[:16]}…, got {got[:16]}…; nothing was installed"
                )
            size = path.stat().st_size / 1e6
            say(f"torchpin: {name}: {size:.1f} MB, sha256 ok ({time.monotonic() - start:.1f} s)\n")
            out[pin.project] = path
    return out


class _Progress:
    """Download progress: a live percentage on a terminal, a start line elsewhere."""

    def __init__(self, name: str, total: int, say: Callable[[str], None], tty: bool) -> None:
        self.name, self.total, self.seen, self.shown = name, total, 0, -1
        self.say, self.tty = say, tty
        if total > 20_000_000:
            say(f"torchpin: downloading {name} ({total / 1e6:.1f} MB)\n")

    def advance(self, n: int) -> None:
        self.seen += n
        if self.tty and self.total:
            pct = 100 * self.seen // self.total
            if pct != self.shown:
                self.shown = pct
                self.say(f"\r  {self.name}: {pct:3d}%")

    def done(self) -> None:
        if self.tty and self.shown >= 0:
            self.say("\n")
