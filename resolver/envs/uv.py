"""The one uv driver (edge): where uv is, and ``uv pip compile`` for ``--full`` and pylock.

uv is a well-kept resolver; torchpin doesn't write one. The torch family is pinned to the
chosen builds and reaches uv only as ``--find-links`` pages of the variant index; everything else
resolves from PyPI (``locks.requirements.index_lines``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from torchpin import proc
from torchpin.decide.platforms import uv_platform
from torchpin.errors import InstallFailed, UsageError
from torchpin.facts.wheels import platform_floor
from torchpin.locks.requirements import index_lines, requirement_line
from torchpin.models import Plan
from torchpin.net.policy import NetPolicy
from torchpin.net.urls import scrub, strip_credentials

from .install import find_uv, installer_index_args


def uv_binary(why: str = "--full") -> str:
    uv = find_uv()
    if uv is None:
        raise UsageError(f"{why} resolves with uv, which is not installed", hint="pip install uv (or pipx install uv)")
    return uv


def compile_lock(
    plan: Plan,
    others: Sequence[str],
    net: NetPolicy,
    *,
    fmt: str = "requirements.txt",
    offline: bool = False,
    timeout: float = 600.0,
) -> str:
    """``uv pip compile`` of the other requirements with the plan's pins, for the plan's target:
    uv's output, credentials stripped."""
    return Compiling(plan, others, net, fmt=fmt, offline=offline).result(timeout)


def _inputs(
    plan: Plan, others: Sequence[str], net: NetPolicy, fmt: str, offline: bool
) -> tuple[str, list[str], dict[str, str]]:
    """uv's whole input: the requirements text, the options after the input file, the environment."""
    t = plan.target
    flags = [part for line in index_lines(plan) for part in line]
    options, env = installer_index_args("uv", flags, net.credentials, net.trusted_hosts)
    text = "\n".join([*others, *map(requirement_line, plan.pins)]) + "\n"
    tail = [
        "--format",
        fmt,
        "--no-header",
        "--quiet",
        "--python-version",
        f"{t.python.major}.{t.python.minor}",
        "--python-platform",
        uv_platform(t.platform),
        *(["--generate-hashes", "--emit-index-url", "--emit-find-links"] if fmt == "requirements.txt" else []),
        *(["--offline"] if offline else []),
        *options,
    ]
    return text, tail, {**net.environ, **_pip_extras(net.environ), **env, **_os_floor(plan)}


def _pip_extras(environ: Mapping[str, str]) -> dict[str, str]:
    """A pip user's extra indexes (their own packages) for uv's resolution of the other
    requirements, unless uv has extra indexes of its own: uv doesn't read PIP_* variables."""
    extra = (environ.get("PIP_EXTRA_INDEX_URL") or "").strip()
    if not extra or any(environ.get(name) for name in ("UV_INDEX", "UV_EXTRA_INDEX_URL")):
        return {}
    return {"UV_EXTRA_INDEX_URL": extra}


def compile_key(plan: Plan, others: Sequence[str], net: NetPolicy, *, offline: bool = False) -> object:
    """What decides ``--full``'s resolution: two plans with one key get the same from uv."""
    text, tail, env = _inputs(plan, others, net, "requirements.txt", offline)
    return (text, tuple(tail), tuple(sorted(env.items())))


class Compiling:
    """A ``uv pip compile`` under way. ``--full`` starts one on the snapshot's plan, which runs
    while torchpin reads the index, and uses it only when the plan decided has its ``key``."""

    def __init__(
        self, plan: Plan, others: Sequence[str], net: NetPolicy, *, fmt: str = "requirements.txt", offline: bool = False
    ) -> None:
        uv = uv_binary("--full" if fmt == "requirements.txt" else "--format pylock")
        self.plan, self.offline = plan, offline
        text, tail, env = _inputs(plan, others, net, fmt, offline)
        self.key = (text, tuple(tail), tuple(sorted(env.items())))
        self._tmp = tempfile.TemporaryDirectory(prefix="torchpin-full-")
        self.source = Path(self._tmp.name) / "requirements.in"
        self.source.write_text(text)
        self._running: proc.Running | None = None
        try:
            self._running = proc.start([uv, "pip", "compile", str(self.source), *tail], env=env)
        except proc.NotStarted as e:
            self.cancel()
            raise InstallFailed(f"uv pip compile: {e}") from None

    def cancel(self) -> None:
        """Stop uv (a guess that missed, or torchpin interrupted) and remove its input."""
        if self._running is not None:
            self._running.stop()
        self._tmp.cleanup()

    def result(self, timeout: float = 600.0) -> str:
        assert self._running is not None
        try:
            done = self._running.wait(timeout)
        except proc.TimedOut as e:
            raise InstallFailed(f"uv pip compile: {e}") from None
        finally:
            self.cancel()
        if done.returncode != 0:
            reason = _uv_error(done.stderr)
            raise UsageError(
                f"uv could not resolve the full lock for {self.plan.target.platform}: {reason}",
                hint=_uv_hint(reason, self.offline),
            )
        lines = []
        for line in done.stdout.replace(str(self.source), "requirements.in").splitlines():
            flag, _, url = line.partition(" ")
            # The credential went to uv through its environment; it never comes back into the file.
            lines.append(f"{flag} {strip_credentials(url)}" if flag.startswith("--") and "://" in url else scrub(line))
        return "\n".join(lines) + "\n"


def _os_floor(plan: Plan) -> dict[str, str]:
    """The macOS the target runs, for uv: ``--python-platform`` names no macOS version, and uv
    then assumes an old one that the chosen torch's wheels don't support. The target's own
    version, else the newest floor among the chosen wheels (the Mac must run them anyway)."""
    platform = plan.target.platform
    if platform.os != "macos":
        return {}
    floors = [
        floor
        for pin in plan.pins
        if pin.wheel
        for tag in pin.wheel.filename.removesuffix(".whl").split("-")[-1].split(".")
        if (floor := platform_floor(tag))
    ]
    version = platform.macos or (max(floors) if floors else None)
    return {"MACOSX_DEPLOYMENT_TARGET": f"{version.major}.{version.minor}"} if version else {}


_ERROR = "\u00d7"  # the multiplication sign uv starts its error with
_TREE = "\u2502\u2570\u2500\u25b6"  # the box-drawing of its explanation tree


# How uv words a resolution that failed for want of the network, not of a version that fits.
_NETWORK = (
    "offline mode",
    "network connectivity is disabled",
    "failed to fetch",
    "error sending request",
    "could not connect",
    "connection refused",
    "dns error",
    "failed to lookup address",
    "timed out",
)


def _uv_hint(reason: str, offline: bool) -> str:
    """What to do: a reason about the network is not the requirements' fault."""
    low = reason.lower()
    if (offline and any(s in low for s in _NETWORK[:2])) or (offline and "cache" in low):
        return "with --offline uv resolves from its cache only, which lacks these; drop --offline"
    if any(s in low for s in _NETWORK):
        return "uv could not read an index; check the network, the index options, or TORCHPIN_PYPI_URL"
    return "uv's reason is above; loosen the requirement it names"


def _uv_error(stderr: str) -> str:
    """uv's reason in one line: from its error mark on, joined (the last line alone is a fragment)."""
    lines = [line.strip(" " + _TREE) for line in stderr.strip().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith(_ERROR)), 0)
    reason = " ".join(lines[start:]).removeprefix(_ERROR).strip() or "no output"
    return scrub(reason)[:400]
