"""Command bodies behind the CLI: wire detect → target → catalog → policy → render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .errors import IndexFormatError, IndexUnavailable, TorchpinError
from .lockfile import render
from .models import Plan, Requirement, Target
from .policy import select
from .snapshot import Catalog, load_catalog
from .targets import TargetFlags, build_target

if TYPE_CHECKING:
    from .verify import Report


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


@dataclass(frozen=True)
class IndexOptions:
    """INDEX options of lock/install as given on the command line."""

    index_url: str | None = None
    find_links: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    offline: bool = False
    refresh: bool = False
    no_fallback: bool = False
    timeout: float = 10.0


def run_lock(
    requirements: Sequence[Requirement],
    target_opts: dict[str, Any],
    index: IndexOptions,
    *,
    fmt: str,
    explain: bool,
    snapshot: Callable[[], bytes],
) -> tuple[str, list[str]]:
    """Return (lock text, stderr lines); raise TorchpinError on any failure."""
    plan, notes = make_plan(requirements, target_opts, index, snapshot=snapshot)
    if explain:
        from .render import explain as explain_text

        notes.append(explain_text(plan))
    return render(plan, fmt), notes


def make_plan(
    requirements: Sequence[Requirement],
    target_opts: dict[str, Any],
    index: IndexOptions,
    *,
    snapshot: Callable[[], bytes],
) -> tuple[Plan, list[str]]:
    """Target → catalog (live pages over the snapshot, unless offline) → plan, plus stderr notes."""
    import os

    from .index import DEFAULT_INDEX, check_scheme, mask, strip_credentials

    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    base = (index.index_url or DEFAULT_INDEX).rstrip("/")
    check_scheme(base, index.trusted_hosts)
    if pypi := os.environ.get("TORCHPIN_PYPI_URL"):  # a PyPI proxy (Artifactory, devpi …)
        check_scheme(pypi, index.trusted_hosts)
        catalog = replace(catalog, pypi_index_url=strip_credentials(pypi.rstrip("/")))
    if index.find_links:
        check_scheme(index.find_links, index.trusted_hosts)
    flags = TargetFlags(**{k: v for k, v in target_opts.items() if v is not None})
    target, detected = resolve_target(flags, catalog.variant_names)
    stderr: list[str] = []
    source, detail = "snapshot", f"embedded snapshot of {catalog.snapshot_date}"
    if not index.offline:
        try:
            catalog = _live_catalog(catalog, target, requirements, index, base)
            source, detail = "live", f"live index {mask(strip_credentials(index.find_links or base))}"
        except (IndexUnavailable, IndexFormatError) as e:
            if index.no_fallback:
                raise
            stderr.append(f"torchpin: {e.message}; locking from the embedded snapshot ({catalog.snapshot_date})\n")
    lock_base = strip_credentials(base)
    if lock_base != base or (index.find_links and strip_credentials(index.find_links) != index.find_links):
        stderr.append(
            "torchpin: credentials are not written into the lock; pip and uv read them from netrc or keyring\n"
        )
    plan = select(target, replace(catalog, pytorch_index_url=lock_base), requirements)
    if index.find_links and not plan.on_pypi:
        flat = f"{strip_credentials(index.find_links).rstrip('/')}/{plan.variant.name}/"
        plan = replace(plan, index_url=flat, find_links=True)
    plan = replace(plan, source=source, source_detail=detail, notes=(*detected, *plan.notes))
    return plan, stderr


def _live_catalog(
    catalog: Catalog, target: Target, requirements: Sequence[Requirement], index: IndexOptions, base: str
) -> Catalog:
    """The snapshot with the live pages the decision depends on folded in (one concurrent round)."""
    from .index import IndexClient, IndexConfig, default_cache_dir, listed_variants, mask
    from .live import merge
    from .policy import live_candidates, requirement_map

    variants = [v.name for v in live_candidates(target, catalog, requirements)]
    if not variants:
        return catalog
    projects = list(requirement_map(requirements))
    config = IndexConfig(
        base_url=base,
        find_links=index.find_links,
        trusted_hosts=index.trusted_hosts,
        cert=index.cert,
        cache_dir=default_cache_dir(),
        refresh=index.refresh,
        timeout=index.timeout,
    )
    client = IndexClient(config)
    wanted = {(v, p): config.page_url(v, p) for v in variants for p in projects}
    fetched = client.fetch(list(wanted.values()))
    pages = {}
    for (variant, project), url in wanted.items():
        links = fetched[url].links
        if index.find_links and links is not None:  # one flat page holds every project
            links = tuple(link for link in links if link.filename.startswith(f"{project}-"))
        pages[(variant, project)] = links
    lacking = [v for v in variants if pages[(v, "torch")] is None]
    if lacking and len(lacking) == len(variants):
        raise IndexUnavailable(
            f"{mask(index.find_links or base)} has no {', '.join(lacking)} pages"
            f" (it lists: {', '.join(listed_variants(client)) or 'no variants'})",
            hint="pick a variant it has with --backend, or another mirror",
        )
    return merge(catalog, pages)


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


def run_verify(python: str | None, lock_file: str | None, *, timeout: float, snapshot: Callable[[], bytes]) -> Report:
    """The verify report for an interpreter, compared with a lock when one is given."""
    import os
    from pathlib import Path

    from .detect import detect_host
    from .verify import target_python, verify

    environ = dict(os.environ)
    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    lock_text = Path(lock_file).read_text(encoding="utf-8") if lock_file else None
    report = verify(
        target_python(python, environ), lock_text=lock_text, catalog=catalog, host=detect_host(environ),
        environ=environ, timeout=timeout,
    )  # fmt: skip
    return report


def run_doctor(python: str | None, *, snapshot: Callable[[], bytes]) -> tuple[Report, str | None]:
    """verify without a lock, plus the one `torchpin install` command for this machine."""
    report = run_verify(python, None, timeout=120.0, snapshot=snapshot)
    if report.ok and not any(c.status == "warn" and c.id in ("installed-set", "build-identity") for c in report.checks):
        return report, None
    # Keep the user's torch release and companions when a build of it fits this machine.
    from packaging.specifiers import SpecifierSet

    installed = _installed_family(report)
    names = [n for n in ("torch", "torchvision", "torchaudio", "torchcodec") if n in installed] or ["torch"]
    attempts = []
    if "torch" in installed:
        public = installed["torch"].split("+")[0]
        attempts.append([Requirement("torch", SpecifierSet(f"=={public}")), *(Requirement(n) for n in names[1:])])
    attempts.append([Requirement(n) for n in (names if len(names) > 1 else ["torch", "torchvision", "torchaudio"])])
    plan = None
    for wanted in attempts:
        try:
            plan, _ = make_plan(wanted, {}, IndexOptions(offline=True), snapshot=snapshot)
            break
        except TorchpinError as e:
            last = e.message
    if plan is None:
        return report, f"(no build fits this machine: {last})"
    pins = " ".join(f"{p.project}=={p.version}" for p in plan.pins)
    python_flag = f" --python {report.python}" if python else ""
    return report, f"torchpin install {pins} --backend {plan.variant}{python_flag}"


def _installed_family(report: Report) -> dict[str, str]:
    """project -> installed version, from the installed-set check's detail."""
    import re

    check = next((c for c in report.checks if c.id == "installed-set"), None)
    found = re.findall(
        r"\b(torch|torchvision|torchaudio|torchcodec) (\S+?)[,;]?(?=\s|$)", check.detail if check else ""
    )
    return dict(found)


@dataclass(frozen=True)
class InstallOptions:
    installer: str = "auto"
    python: str | None = None
    dry_run: bool = False
    verify: bool = True
    lock_path: str = "torchpin.lock.txt"
    require_hashes: bool = False
    timeout: float = 120.0


def run_install(
    requirements: Sequence[Requirement],
    target_opts: dict[str, Any],
    index: IndexOptions,
    opts: InstallOptions,
    *,
    snapshot: Callable[[], bytes],
) -> Report | None:
    """Plan → lock file → (verified wheels) → installer → verify. Returns the verify report or None."""
    import os
    import sys
    import tempfile
    from pathlib import Path

    from . import install as inst
    from .errors import InstallFailed, NoCompatibleBuild
    from .files import write_atomic
    from .verify import target_python

    environ = dict(os.environ)
    python = target_python(opts.python, environ)
    plan, notes = make_plan(requirements, target_opts, index, snapshot=snapshot)
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
    options = inst.index_args(plan)
    pins = [f"{p.project}=={p.version}" for p in plan.pins]
    if opts.dry_run:
        from .render import explain

        sys.stderr.write(explain(plan))
        if stale:
            sys.stderr.write("would run: " + " ".join(inst.uninstall_argv(installer, python, uv, stale)) + "\n")
        sys.stderr.write("would run: " + " ".join(inst.install_argv(installer, python, uv, options, pins)) + "\n")
        sys.stderr.write(f"would write the lock to {opts.lock_path}\n")
        return None
    write_atomic(Path(opts.lock_path), lock_text)
    sys.stderr.write(f"torchpin: wrote {opts.lock_path} (torch {plan.release}, {plan.variant}, {plan.source})\n")
    with tempfile.TemporaryDirectory(prefix="torchpin-") as tmp:
        files = inst.download_verified(plan.pins, Path(tmp), cert=index.cert)
        targets = [str(files[p.project]) if p.project in files else f"{p.project}=={p.version}" for p in plan.pins]
        if stale:
            sys.stderr.write(
                f"torchpin: removing {', '.join(stale)}: other builds than {plan.variant} would be left mixed\n"
            )
            inst.run(inst.uninstall_argv(installer, python, uv, stale))
        sys.stderr.write(f"torchpin: installing with {installer} into {python}\n")
        code = inst.run(inst.install_argv(installer, python, uv, options, targets))
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
    from .detect import detect_host
    from .verify import verify

    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    return verify(python, lock_text=lock_text, catalog=catalog, host=detect_host(environ), environ=environ,
                  timeout=opts.timeout)  # fmt: skip
