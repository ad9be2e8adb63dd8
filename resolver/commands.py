"""Command bodies behind the CLI: wire detect → target → catalog → policy → render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .errors import UsageError
from .lockfile import render
from .models import Requirement, Target
from .policy import select
from .snapshot import load_catalog
from .targets import TargetFlags, build_target


def resolve_target(flags: TargetFlags, known_variants: list[str]) -> tuple[Target, tuple[str, ...]]:
    """Detect this machine (unless --no-detect), then let every given flag override its part.

    Returns the target and what detection contributed, for the lock header.
    """
    from .detect import detect_host
    from .host import decide, host_target

    host = detect_host(gpus=not flags.no_detect)
    target = build_target(flags, host_target(host), known_variants)
    detected: tuple[str, ...] = ()
    if not flags.no_detect and target.accelerator == decide(host)[0]:
        detected = (f"detected: {decide(host)[1]}", *host.notes)
    return target, detected


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
    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    if index_url:
        if not index_url.startswith(("https://", "http://127.", "http://localhost", "file://")):
            raise UsageError(
                f"--index-url {index_url!r} must be https://", hint="plain http is allowed for loopback only"
            )
        catalog = replace(catalog, pytorch_index_url=index_url.rstrip("/"))
    flags = TargetFlags(**{k: v for k, v in target_opts.items() if v is not None})
    target, detected = resolve_target(flags, catalog.variant_names)
    plan = select(target, catalog, requirements)
    plan = replace(plan, source=f"snapshot {catalog.snapshot_date}", notes=(*detected, *plan.notes))
    notes: list[str] = []
    if explain:
        from .render import explain as explain_text

        notes.append(explain_text(plan))
    return render(plan, fmt), notes


OVERRIDE_VARS = (
    "TORCHPIN_BACKEND",
    "TORCHPIN_DRIVER",
    "TORCHPIN_GPU_CC",
    "TORCHPIN_AMD_GFX",
    "TORCHPIN_PYTHON_VERSION",
    "TORCHPIN_PYTHON_PLATFORM",
    "TORCHPIN_GLIBC",
    "TORCHPIN_CUDA_COMPAT",
    "TORCHPIN_SYSROOT",
)


def run_detect(snapshot: Callable[[], bytes], environ: dict[str, str]) -> dict[str, Any]:
    """The detect document, with the build a plain `torchpin lock` would choose here."""
    from .detect import detect_host
    from .errors import TorchpinError
    from .host import host_json

    host = detect_host(environ)
    overrides = {k: v for k, v in environ.items() if k in OVERRIDE_VARS}
    doc = host_json(host, overrides)
    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    flags = TargetFlags(
        backend=environ.get("TORCHPIN_BACKEND", "auto"),
        driver=environ.get("TORCHPIN_DRIVER"),
        gpu_cc=tuple(environ.get("TORCHPIN_GPU_CC", "").split()),
        amd_gfx=tuple(environ.get("TORCHPIN_AMD_GFX", "").split()),
        python_version=environ.get("TORCHPIN_PYTHON_VERSION"),
        python_platform=environ.get("TORCHPIN_PYTHON_PLATFORM"),
        glibc=environ.get("TORCHPIN_GLIBC"),
    )
    try:
        from .host import host_target

        target = build_target(flags, host_target(host), catalog.variant_names)
        plan = select(target, catalog, ())
        doc["would_choose"] = {
            "backend": plan.variant.name,
            "index_url": plan.index_url,
            "packages": [f"{p.project}=={p.version}" for p in plan.pins],
            "why": plan.why,
        }
    except TorchpinError as e:
        doc["would_choose"] = {"error": str(e), "exit_code": e.exit_code}
    return doc
