"""Multi-target locks (pure): the ``--target`` grammar, each target's environment marker, and one
requirements / constraints / JSON lock for several plans.

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

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from .errors import UsageError
from .models import Plan, Target
from .options import TARGET
from .targets import TargetFlags, marker_environment

OSES = {"linux": "{arch}-unknown-linux-gnu", "macos": "{arch}-apple-darwin", "windows": "{arch}-pc-windows-msvc"}
ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_KEYS = {o.flag.removeprefix("--"): o for o in TARGET if not o.is_flag and o.field not in ("backend",)}
HINT = "e.g. --target linux-x86_64-cu126:driver=550.54.15,gpu-cc=8.6 --target macos-arm64 (see lock --help)"


class NamedTarget(NamedTuple):
    label: str
    flags: TargetFlags


def parse_spec(spec: str, base: TargetFlags) -> NamedTarget:
    """One ``--target`` value over the TARGET options given beside it."""
    head, _, tail = spec.strip().partition(":")
    if head == "this":
        return NamedTarget("this", base)
    parts = head.split("-")
    os_name = parts.pop(0).lower()
    if os_name not in OSES:
        raise UsageError(
            f"--target {spec!r}: unknown OS {os_name!r}", hint=f"start with linux, macos or windows: {HINT}"
        )
    arch = "aarch64" if os_name == "macos" else "x86_64"
    if parts and parts[0].lower() in ARCHES:
        arch = ARCHES[parts.pop(0).lower()]
    fields: dict[str, Any] = {"no_detect": True, "python_platform": OSES[os_name].format(arch=arch)}
    if parts:
        fields["backend"] = "-".join(parts)
        if not re.fullmatch(r"auto|cpu|cu\d{3}|rocm\d+(\.\d+){1,2}|xpu", fields["backend"]):
            raise UsageError(f"--target {spec!r}: {fields['backend']!r} is not an arch or a backend", hint=HINT)
    repeated: dict[str, list[str]] = {}
    for item in filter(None, tail.split(",")):
        key, eq, value = item.partition("=")
        option = _KEYS.get(key.strip().lower())
        if not eq or option is None or not value.strip():
            raise UsageError(f"--target {spec!r}: {item!r} is not KEY=VALUE with KEY one of {', '.join(_KEYS)}",
                             hint=HINT)  # fmt: skip
        if option.multiple:
            repeated.setdefault(option.field, []).append(value.strip())
        else:
            fields[option.field] = value.strip()
    fields.update({k: tuple(v) for k, v in repeated.items()})
    return NamedTarget(head, replace(base, **fields))


def check_shared(base: TargetFlags) -> None:
    """GPU options describe one machine: beside ``--target`` they go inside each SPEC."""
    if base.driver or base.gpu_cc or base.amd_gfx or base.backend != "auto":
        raise UsageError(
            "--driver, --gpu-cc, --amd-gfx and --backend describe one machine; with --target give them per target",
            hint="e.g. --target linux-cu126:driver=550.54.15,gpu-cc=8.6",
        )


def marker(target: Target, *, python: bool) -> str:
    """The PEP 508 marker that is true on the target (and, with ``python``, its Python only)."""
    env = marker_environment(target)
    parts = [f'sys_platform == "{env["sys_platform"]}"', f'platform_machine == "{env["platform_machine"]}"']
    if python:
        parts.append(f'python_version == "{env["python_version"]}"')
    return " and ".join(parts)


def markers(plans: Sequence[tuple[str, Plan]]) -> list[str]:
    """One marker per target; two targets pip can't tell apart are a usage error."""
    python = len({(p.target.python.major, p.target.python.minor) for _, p in plans}) > 1
    out = [marker(p.target, python=python) for _, p in plans]
    for i, m in enumerate(out):
        if m in out[:i]:
            other = plans[out.index(m)][0]
            raise UsageError(
                f"--target {other} and --target {plans[i][0]} are the same platform to pip and uv ({m}): "
                "markers can't tell a GPU or a driver apart",
                hint="lock those machines separately (one lock each)",
            )
        if plans[i][1].target.python.freethreaded:
            raise UsageError(f"--target {plans[i][0]}: free-threaded Python has no marker of its own",
                             hint="lock it separately")  # fmt: skip
    return out


def render(plans: Sequence[tuple[str, Plan]], fmt: str) -> str:
    """A requirements, constraints or JSON lock for every target."""
    from .lockfile import as_json, header, index_lines

    ms = markers(plans)
    if fmt == "json":
        entries = [{"label": label, "marker": m, **as_json(plan)} for (label, plan), m in zip(plans, ms, strict=True)]
        return json.dumps({"schema": 1, "targets": entries}, indent=2) + "\n"
    head = [line for label, plan in plans for line in (f"# --target {label}", *header(plan))]
    indexes = {tuple(index_lines(plan)) for _, plan in plans}
    if fmt == "constraints":
        uses: dict[str, list[str]] = {}
        for (_, plan), m in zip(plans, ms, strict=True):
            uses.setdefault(" ".join(f"{flag} {url}" for flag, url in index_lines(plan)), []).append(f"({m})")
        use = [f"# use where {' or '.join(where)}: pip install -c THIS_FILE {options} <packages>"
               for options, where in uses.items()]  # fmt: skip
        lines = [f"{p.project}=={p.version} ; {m}" for (_, plan), m in zip(plans, ms, strict=True) for p in plan.pins]
        return "\n".join([*head, *use, *lines]) + "\n"
    if len(indexes) == 1:  # one set of indexes serves every target: plain pins, each behind its marker
        body = [f"{flag} {url}" for flag, url in next(iter(indexes))]
        body += [f"{p.project}=={p.version} ; {m}" for (_, plan), m in zip(plans, ms, strict=True) for p in plan.pins]
        return "\n".join([*head, *body]) + "\n"
    return "\n".join([*head, *_url_form(plans, ms)]) + "\n"


def _url_form(plans: Sequence[tuple[str, Plan]], ms: Sequence[str]) -> list[str]:
    """Targets on different variant indexes: pip merges indexes but uv stops at the first that has
    torch, so one index list can't serve them. Each variant wheel goes by its own URL and hash."""
    pypi = {plan.pypi_url for _, plan in plans}
    body = [f"--index-url {sorted(pypi)[0]}"]
    for (label, plan), m in zip(plans, ms, strict=True):
        if plan.on_pypi:
            body += [f"{p.project}=={p.version} ; {m}" for p in plan.pins]
            continue
        if plan.variant.family.value == "rocm":
            raise UsageError(
                f"--target {label}: ROCm builds need pytorch-triton-rocm from their own index, which a "
                "requirements file shared with another index can't route",
                hint="use --format pyproject or --format pylock, or lock that target separately",
            )
        unknown = [p.project for p in plan.pins if not (p.wheel and p.wheel.url and p.wheel.sha256)]
        if unknown:
            raise UsageError(
                f"--target {label} needs {plan.index_url} and another target needs another index; one "
                f"requirements file then names each wheel by URL, and {', '.join(unknown)} has no known URL "
                "and hash (the snapshot doesn't list download.pytorch.org files)",
                hint="drop --offline so the index is read, or use --format pyproject (uv) for these targets",
            )
        body += [f"{p.project} @ {p.wheel.url.split('#')[0]}#sha256={p.wheel.sha256} ; {m}"
                 for p in plan.pins if p.wheel and p.wheel.url]  # fmt: skip
    return body
