"""The ``--target`` grammar (pure): one SPEC → the TARGET flags of one named machine.

    SPEC     = OS[-ARCH][-BACKEND][:KEY=VALUE[,KEY=VALUE]...]  or  this
    OS       = linux | macos | windows
    ARCH     = x86_64 | aarch64 | arm64          (default: x86_64; arm64 on macos)
    BACKEND  = auto | cpu | cuXYZ | rocmX.Y | xpu (default: auto)
    KEY      = a TARGET option without its dashes: driver, gpu-cc, amd-gfx, python-version,
               glibc, macos-version, cuda-compat (gpu-cc and amd-gfx repeat, one per GPU)

``linux-x86_64-cu126:driver=550.54.15,gpu-cc=8.6`` · ``macos-arm64`` · ``windows-cu126`` ·
``linux:gpu-cc=6.1,gpu-cc=8.9,driver=560.35.03``. A named target is another machine: nothing is
detected for it. ``this`` is this machine, detected as a single lock would. The TARGET options
given beside ``--target`` (Python, glibc, macOS, cuda-compat) apply to every target; a KEY
overrides them for its own target. GPU options go inside each SPEC.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from torchpin.errors import UsageError
from torchpin.facts.wheels import parse_variant
from torchpin.models import PlatformTarget, Target

from .options import TARGET
from .platforms import ARCHES, OS_TRIPLES, parse_python_platform, uv_platform
from .targets import TargetFlags

_KEYS = {o.flag.removeprefix("--"): o for o in TARGET if not o.is_flag and o.field not in ("backend",)}
HINT = "e.g. --target linux-x86_64-cu126:driver=550.54.15,gpu-cc=8.6 --target macos-arm64 (see lock --help)"


class NamedTarget(NamedTuple):
    label: str
    flags: TargetFlags


def parse_spec(spec: str, base: TargetFlags) -> NamedTarget:
    """One ``--target`` value over the TARGET options given beside it."""
    head, _, tail = spec.strip().partition(":")
    shown = spec if len(spec) <= 80 else spec[:77] + "..."
    if head == "this":  # this machine, detected; its KEYs override what the probes find
        return NamedTarget("this", replace(base, **_keys(tail, shown)))
    parts = head.split("-")
    os_name = parts.pop(0).lower()
    if os_name not in OS_TRIPLES:
        raise UsageError(
            f"--target {shown!r}: unknown OS {os_name[:20]!r}", hint=f"start with linux, macos or windows: {HINT}"
        )
    arch, named_arch = ("aarch64" if os_name == "macos" else "x86_64"), False
    if parts and parts[0].lower() in ARCHES:
        arch, named_arch = ARCHES[parts.pop(0).lower()], True
    fields: dict[str, Any] = {"no_detect": True, "python_platform": OS_TRIPLES[os_name].format(arch=arch)}
    if parts:
        backend = "-".join(parts)
        if backend.lower() != "auto":
            try:  # the one variant grammar (facts.wheels), not a copy of it
                parse_variant(backend)
            except UsageError:
                why = f"--target {shown!r}: {backend[:20]!r} is not an arch or a backend"
                raise UsageError(why, hint=HINT) from None
        fields["backend"] = backend
    keys = _keys(tail, shown)
    if "python_platform" in keys:  # may say more (a glibc floor), never another machine
        platform = parse_python_platform(keys["python_platform"])
        if platform.os != os_name or (named_arch and platform.arch != arch):
            raise UsageError(
                f"--target {shown!r}: python-platform={keys['python_platform'][:40]} is not {os_name}"
                + (f" {arch}" if named_arch else ""),
                hint="give the OS and arch once, in the SPEC",
            )
    return NamedTarget(head, replace(base, **{**fields, **keys}))


def _keys(tail: str, shown: str) -> dict[str, Any]:
    """The KEY=VALUE part: each key known, each single-valued key given once."""
    found: dict[str, Any] = {}
    repeated: dict[str, list[str]] = {}
    for item in filter(None, tail.split(",")):
        key, eq, value = item.partition("=")
        option = _KEYS.get(key.strip().lower())
        if not eq or option is None or not value.strip():
            raise UsageError(
                f"--target {shown!r}: {item[:40]!r} is not KEY=VALUE with KEY one of {', '.join(_KEYS)}", hint=HINT
            )
        if option.multiple:
            repeated.setdefault(option.field, []).append(value.strip())
        elif option.field in found:
            raise UsageError(f"--target {shown!r}: {key.strip()[:40]} is given twice", hint="give each KEY once")
        else:
            found[option.field] = value.strip()
    return {**found, **{k: tuple(v) for k, v in repeated.items()}}


def check_shared(base: TargetFlags) -> None:
    """GPU options describe one machine: beside ``--target`` they go inside each SPEC."""
    if base.driver or base.gpu_cc or base.amd_gfx or base.backend != "auto":
        raise UsageError(
            "--driver, --gpu-cc, --amd-gfx and --backend describe one machine; with --target give them per target",
            hint="e.g. --target linux-cu126:driver=550.54.15,gpu-cc=8.6",
        )


def described(target: Target) -> list[tuple[str, str]]:
    """The TARGET options (KEY, value) that describe ``target`` with nothing detected: the inverse
    of ``build_target`` under --no-detect, so a lock can record the machine it was made for and be
    decided again on any other. The backend is the caller's: only it knows what was asked."""
    p, acc = target.platform, target.accelerator
    out = [("python-version", str(target.python)), ("python-platform", platform_name(p))]
    if p.macos is not None:
        out.append(("macos-version", str(p.macos)))
    if acc.driver is not None:
        out.append(("driver", str(acc.driver)))
    out += [("gpu-cc", str(g)) for g in acc.gpus if g.cc is not None]
    out += [("amd-gfx", g.gfx) for g in acc.gpus if g.gfx is not None]
    if target.cuda_compat != "minor":
        out.append(("cuda-compat", target.cuda_compat))
    return out


def platform_name(p: PlatformTarget) -> str:
    """uv's name for the platform, with the arch even where uv's own printer drops it (Windows)."""
    return uv_platform(p) if p.os != "windows" else OS_TRIPLES["windows"].format(arch=p.arch)


def spec_of(target: Target, backend: str | None) -> str:
    """The ``--target`` SPEC for ``target`` (``described``), with ``backend`` in its head when given."""
    head = "-".join([target.platform.os, target.platform.arch, *([backend] if backend else [])])
    return head + ":" + ",".join(f"{key}={value}" for key, value in described(target))
