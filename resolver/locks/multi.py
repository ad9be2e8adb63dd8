"""Multi-target locks (pure): each target's environment marker, and one requirements / constraints /
JSON lock for several plans (the ``--target`` grammar is ``decide.specs``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from torchpin.decide.targets import marker_environment
from torchpin.errors import UsageError
from torchpin.models import Plan, Target

from .requirements import as_json, header, index_lines, requirement_line


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
            raise UsageError(
                f"--target {plans[i][0]}: free-threaded Python has no marker of its own", hint="lock it separately"
            )
    return out


def json_lock(plans: Sequence[tuple[str, Plan]]) -> str:
    ms = markers(plans)
    entries = [{"label": label, "marker": m, **as_json(plan)} for (label, plan), m in zip(plans, ms, strict=True)]
    return json.dumps({"schema": 1, "targets": entries}, indent=2) + "\n"


def constraints(plans: Sequence[tuple[str, Plan]]) -> str:
    """Pins behind markers, and per index set a `# use where MARKER:` line with its options."""
    ms = markers(plans)
    uses: dict[str, list[str]] = {}
    for (_, plan), m in zip(plans, ms, strict=True):
        uses.setdefault(" ".join(f"{flag} {url}" for flag, url in index_lines(plan)), []).append(f"({m})")
    use = [
        f"# use where {' or '.join(where)}: pip install -c THIS_FILE {options} <packages>"
        for options, where in uses.items()
    ]
    lines = [f"{p.project}=={p.version} ; {m}" for (_, plan), m in zip(plans, ms, strict=True) for p in plan.pins]
    return "\n".join([*_head(plans), *use, *lines]) + "\n"


def requirements(plans: Sequence[tuple[str, Plan]]) -> str:
    """One requirements file for every target."""
    ms = markers(plans)
    indexes = _shared_indexes(plans)
    if indexes is not None:  # one set of indexes serves every target: plain pins, each behind its marker
        body = [f"{flag} {url}" for flag, url in indexes]
        body += [f"{requirement_line(p)} ; {m}" for (_, plan), m in zip(plans, ms, strict=True) for p in plan.pins]
        return "\n".join([*_head(plans), *body]) + "\n"
    return "\n".join([*_head(plans), *_url_form(plans, ms)]) + "\n"


def _shared_indexes(plans: Sequence[tuple[str, Plan]]) -> tuple[tuple[str, str], ...] | None:
    """The index lines every target can install from, if there are such.

    A PyPI build (macOS, untagged CPU) comes from PyPI, the index of every lock; the variant's
    lines add only the family's pages as ``--find-links`` pages, which pip and uv both merge with
    PyPI, so a Linux CUDA target and a Mac share one file. A flat mirror lists only what it
    copied, so there each target keeps its own lines."""
    indexes = {tuple(index_lines(plan)) for _, plan in plans}
    if len(indexes) == 1:
        return next(iter(indexes))
    variant = {tuple(index_lines(plan)) for _, plan in plans if not plan.on_pypi}
    pypi = {plan.pypi_url for _, plan in plans}
    if len(variant) == 1 and len(pypi) == 1 and not any(plan.find_links for _, plan in plans):
        return next(iter(variant))
    return None


def _head(plans: Sequence[tuple[str, Plan]]) -> list[str]:
    return [line for label, plan in plans for line in (f"# --target {label}", *header(plan))]


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
                f"--target {label}: ROCm builds need their triton build (triton-rocm) from their own index, which a "
                "requirements file shared with another index can't route",
                hint="use --format pyproject or --format pylock, or lock that target separately",
            )
        unknown = [p.project for p in plan.pins if not (p.wheel and p.wheel.url and p.wheel.sha256)]
        if unknown:
            raise UsageError(
                f"--target {label} needs {plan.index_url} and another target needs another index; one "
                f"requirements file then names each wheel by URL, and {', '.join(unknown)} has no known URL "
                "and hash (the snapshot doesn't list download.pytorch.org files)",
                hint="lock from the live index (without --offline, or once the index answers), "
                "or use --format pyproject (uv) for these targets",
            )
        body += [
            f"{p.project} @ {p.wheel.url.split('#')[0]}#sha256={p.wheel.sha256} ; {m}"
            for p in plan.pins
            if p.wheel and p.wheel.url
        ]
    return body
