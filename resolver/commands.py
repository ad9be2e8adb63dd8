"""Command bodies behind the CLI: wire detect → target → catalog → policy → render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .errors import UsageError
from .lockfile import render
from .models import Requirement
from .policy import select
from .snapshot import load_catalog
from .targets import TargetFlags, build_target


def run_lock(
    requirements: Sequence[Requirement],
    target_opts: dict[str, Any],
    *,
    index_url: str | None,
    fmt: str,
    explain: bool,
    snapshot: Callable[[], bytes],
) -> tuple[str, list[str]]:
    """Return (lock text, stderr lines); raise TorchpinError on any failure."""
    from .detect import host_target

    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    if index_url:
        if not index_url.startswith(("https://", "http://127.", "http://localhost", "file://")):
            raise UsageError(
                f"--index-url {index_url!r} must be https://", hint="plain http is allowed for loopback only"
            )
        catalog = replace(catalog, pytorch_index_url=index_url.rstrip("/"))
    flags = TargetFlags(**{k: v for k, v in target_opts.items() if v is not None})
    target = build_target(flags, host_target(), catalog.variant_names)
    plan = select(target, catalog, requirements)
    plan = replace(plan, source=f"snapshot {catalog.snapshot_date}")
    notes: list[str] = []
    if explain:
        from .render import explain as explain_text

        notes.append(explain_text(plan))
    return render(plan, fmt), notes
