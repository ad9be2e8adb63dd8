"""The one path to a plan: target (detected unless told) → catalog (live pages over the snapshot,
unless offline) → ``select`` with the validated ``Sources``. ``lock``, ``install``, ``doctor`` and
``detect`` all plan here, so they can't disagree on anything a lock writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from torchpin import envs, facts, machine, net
from torchpin.decide.live import live_candidates, pyg_candidates
from torchpin.decide.select import requirement_map, select
from torchpin.decide.targets import TargetFlags, applicable, build_target
from torchpin.errors import IndexFormatError, IndexLacksPages, IndexUnavailable, NoCompatibleBuild, UsageError
from torchpin.facts.catalog import Catalog
from torchpin.facts.flash_attn import with_assets
from torchpin.facts.pyg import page_url
from torchpin.models import FLASH_ATTN, PYG, Pin, Plan, Requirement, Sources, Target

from .context import Context, Endpoints, IndexOptions

if TYPE_CHECKING:
    from torchpin.net.index import IndexClient

_K = TypeVar("_K")
_V = TypeVar("_V")


def resolve_target(ctx: Context, flags: TargetFlags, python: str | None = None) -> tuple[Target, tuple[str, ...]]:
    """Detect this machine (unless --no-detect), then let every given flag override its part.
    With ``python`` (an environment is what gets installed into), that interpreter's Python,
    ABI, platform and libc are the target's, not those of the Python torchpin runs in.

    Returns the target and what detection contributed, for the lock header.
    """
    known = ctx.catalog().variant_names
    found = ""
    if python is None and not (flags.python_version and flags.python_platform):
        python = project_python(ctx)
        found = f"for the environment of {python} (torchpin runs from a tool environment of its own)" if python else ""
    if python is None and flags.python_version is None and not machine.in_project_environment(ctx.environ):
        flags, found = _pinned_python(ctx, flags)
    if python is not None:
        py, plat = machine.interpreter_target(ctx.interpreter(python))
    if flags.no_detect:  # this interpreter's Python and OS only: no probe module is even imported
        if python is None:
            py, plat = machine.host_python(), machine.host_platform()
        return build_target(flags, Target(py, plat), known), (found,) if found else ()
    host = ctx.host()
    base = machine.host_target(host)
    if python is not None:
        base = replace(base, python=py, platform=plat)
    target = build_target(flags, base, known)
    detected: tuple[str, ...] = ()
    accelerator, decided_by = machine.decide(host)
    if target.accelerator == accelerator:
        detected = (f"detected: {decided_by}", *host.notes)
    return target, (*detected, found) if found else detected


def _pinned_python(ctx: Context, flags: TargetFlags) -> tuple[TargetFlags, str]:
    """With no environment to plan for, the project's ``.python-version`` (as uv reads it) names
    the Python, not the interpreter torchpin happens to run on."""
    pinned = machine.python_version_file(Path.cwd())
    if pinned is None:
        return flags, ""
    version, path = pinned
    if version is None:
        ctx.note(f"torchpin: {path} names no CPython 3 version; ignored\n")
        return flags, ""
    return replace(flags, python_version=version), f"Python {version} from {path}"


def project_python(ctx: Context) -> str | None:
    """torchpin installed as a tool (uv tool, pipx) runs on a Python of its own: a lock is for the
    environment uv would pick (VIRTUAL_ENV, CONDA_PREFIX, a .venv here or above), when there is one."""
    if not machine.in_tool_environment():
        return None
    try:
        return envs.target_python(None, ctx.environ)
    except UsageError:
        return None


def make_plan(
    ctx: Context,
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    *,
    python: str | None = None,
) -> Plan:
    """The plan for one target (for the environment of ``python`` when given); what humans should
    read on the way goes to ``ctx.note``."""
    target, detected = resolve_target(ctx, flags, python)
    return plan_for(ctx, target, requirements, index, detected)


def plan_for(
    ctx: Context,
    target: Target,
    requirements: Sequence[Requirement],
    index: IndexOptions,
    detected: Sequence[str] = (),
) -> Plan:
    """The plan for a target already known (a fleet's node, or one this machine resolved to)."""
    catalog = ctx.catalog()
    ends = ctx.endpoints(index)
    requirements = applicable(requirements, target)
    sources = ends.sources._replace(detail=f"embedded snapshot of {catalog.snapshot_date}")
    if not index.offline:
        try:
            live = _live_catalog(ctx, catalog, target, requirements, index, ends)
            if live is None:  # PyPI serves every candidate build: its files are the snapshot's, no page to read
                sources = sources._replace(detail=f"PyPI's files in the embedded snapshot of {catalog.snapshot_date}")
            else:
                catalog = live
                sources = ends.sources._replace(label="live", detail=f"live index {ends.shown}")
        except (IndexUnavailable, IndexFormatError) as e:
            if index.no_fallback or isinstance(e, IndexLacksPages):
                e.hint = e.hint or "drop --no-fallback to lock from the embedded snapshot, or check the index"
                raise
            hint = f" ({e.hint})" if isinstance(e, net.TlsFailure) and e.hint else ""
            ctx.note(f"torchpin: {e.message}{hint}; locking from the embedded snapshot ({catalog.snapshot_date})\n")
        catalog = _pyg_live(ctx, catalog, target, requirements, index, ends)
    if ends.pypi_from and ends.pypi_from != "TORCHPIN_PYPI_URL":
        ctx.note(f"torchpin: everything but the torch family comes from {ends.sources.pypi} ({ends.pypi_from})\n")
    if ends.credentials:
        ctx.note("torchpin: credentials are not written into the lock; pip and uv read them from netrc or keyring\n")
    asks_fa = any(r.project == FLASH_ATTN for r in requirements)
    if asks_fa and not index.offline:  # unconfirmed release assets are worth a look at the host
        catalog = with_assets(catalog, {}, live=True)
    plan = _select(ctx, target, catalog, requirements, sources)
    if not index.offline:
        plan = _hash_pyg(ctx, plan, index, ends)
        if asks_fa:
            plan = _flash_attn_live(ctx, plan, catalog, requirements, sources, index, ends)
    elif unhashed := [p.project for p in plan.pins if p.direct and p.wheel and not p.wheel.sha256]:
        said = f"{', '.join(unhashed)} pinned by URL without a sha256: --offline reads no file (a live lock hashes it)"
        plan = replace(plan, notes=(*plan.notes, said))
    return replace(plan, notes=(*detected, *plan.notes))


def _select(
    ctx: Context, target: Target, catalog: Catalog, requirements: Sequence[Requirement], sources: Sources
) -> Plan:
    try:
        return select(target, catalog, requirements, sources)
    except NoCompatibleBuild as e:
        # Links the URL policy refused may be the very builds that were missing: say so in the
        # one line a failure has, since the notes are said only on success.
        refused = [n for n in ctx.pending() if " link(s) on " in n]
        if not refused:
            raise
        why = refused[0].removeprefix("torchpin: ").strip()
        raise NoCompatibleBuild(f"{e.message}; the index offered files torchpin refused ({why})", hint=e.hint) from None


def _flash_attn_live(
    ctx: Context,
    plan: Plan,
    catalog: Catalog,
    requirements: Sequence[Requirement],
    sources: Sources,
    index: IndexOptions,
    ends: Endpoints,
) -> Plan:
    """flash-attn's chosen file read whole from its release and hashed. A file the release doesn't
    have (404) is a fact: the decision moves to the next file and that one is read. The host
    unreachable: the recorded files decide (an unconfirmed one no longer counts), pinned by URL
    only, said in a note; with --no-fallback, exit 4."""
    client = net.IndexClient(_config(ctx, index, ends, ends.sources.flash_attn), waiting=ctx.say)
    for _round in range(16):
        pin = next((p for p in plan.pins if p.project == FLASH_ATTN and p.wheel and p.wheel.url), None)
        if pin is None or pin.wheel is None or pin.wheel.url is None or pin.wheel.sha256:
            return plan
        url, name = pin.wheel.url, pin.wheel.filename
        ctx.say(
            f"torchpin: reading {name} from {net.mask(ends.sources.flash_attn)} to hash it (releases carry no hashes)\n"
        )
        digest = client.hash_files([url])[url]
        if digest is None:
            if index.no_fallback:
                raise IndexUnavailable(
                    f"could not read {net.mask(url)} to hash it", hint="drop --no-fallback to pin it by URL only"
                )
            catalog = with_assets(catalog, {}, live=False)
            plan = _select(ctx, plan.target, catalog, requirements, sources)
            why = f"could not read {name} from its release: flash-attn is pinned by URL only, from the recorded files"
            return replace(plan, notes=(*plan.notes, why))
        catalog = with_assets(catalog, {name: digest or None})
        plan = _select(ctx, plan.target, catalog, requirements, sources)
    return plan


def _pyg_client(ctx: Context, index: IndexOptions, ends: Endpoints) -> net.IndexClient:
    """A reader of data.pyg.org's pages: flat find-links pages (each lists every package's wheels)."""
    return net.IndexClient(_config(ctx, index, ends, ends.sources.pyg, ends.sources.pyg), waiting=ctx.say)


def _config(
    ctx: Context, index: IndexOptions, ends: Endpoints, base_url: str, find_links: str | None = None
) -> net.IndexConfig:
    """How every host is read: through the one URL policy, with the one cache and its settings."""
    return net.IndexConfig(
        base_url=base_url,
        find_links=find_links,
        policy=ends.net(),
        cache_dir=None
        if index.no_cache
        else Path(index.cache_dir)
        if index.cache_dir
        else net.default_cache_dir(ctx.environ),
        refresh=index.refresh,
        deadline=index.deadline,
        max_age=ctx.cache_max_age(),
    )


def _pyg_live(
    ctx: Context,
    catalog: Catalog,
    target: Target,
    requirements: Sequence[Requirement],
    index: IndexOptions,
    ends: Endpoints,
) -> Catalog:
    """The catalog with data.pyg.org's pages the decision may take a PyG package from read live:
    the candidates' pages in one round, then each older page a missing one moves the decision to.
    Unreachable: the recorded pages decide, said in a note (or, with --no-fallback, exit 4)."""
    if index.offline or not any(r.project in PYG for r in requirements):
        return catalog
    client = _pyg_client(ctx, index, ends)
    for _round in range(16):
        wanted = pyg_candidates(target, catalog, requirements)
        if not wanted:
            break
        urls = {key: page_url(ends.sources.pyg, *key) for key in wanted}
        try:
            fetched = client.fetch(list(urls.values()))
        except (IndexUnavailable, IndexFormatError) as e:
            if index.no_fallback:
                e.hint = e.hint or "drop --no-fallback to take PyG's packages from the recorded pages"
                raise
            ctx.note(f"torchpin: {e.message}; PyG's packages from the pages the snapshot records\n")
            return catalog
        catalog = facts.merge_pyg(catalog, {key: fetched[url].links for key, url in urls.items()})
    for note in client.notes:
        ctx.note(f"torchpin: {note}\n")
    return catalog


def _hash_pyg(ctx: Context, plan: Plan, index: IndexOptions, ends: Endpoints) -> Plan:
    """data.pyg.org's pages carry no hashes: each pinned file is read and hashed (once; the cache
    keeps its digest), or the lock says it couldn't."""
    todo = [p for p in plan.pins if p.project in PYG and p.wheel and p.wheel.url and not p.wheel.sha256]
    if not todo:
        return plan
    ctx.say(f"torchpin: hashing {len(todo)} file(s) from {net.mask(ends.sources.pyg)} (its pages carry no hashes)\n")
    digests = _pyg_client(ctx, index, ends).hash_files([str(p.wheel.url) for p in todo if p.wheel])
    pins: list[Pin] = []
    notes = list(plan.notes)
    for pin in plan.pins:
        if pin in todo and pin.wheel and pin.wheel.url:
            digest = digests.get(pin.wheel.url) or None
            if digest is None:
                notes.append(f"could not read {pin.wheel.filename} to hash it: {pin.project} is pinned by URL only")
            pins.append(replace(pin, wheel=replace(pin.wheel, sha256=digest)))
            continue
        pins.append(pin)
    return replace(plan, pins=tuple(pins), notes=tuple(notes))


def _live_catalog(
    ctx: Context,
    catalog: Catalog,
    target: Target,
    requirements: Sequence[Requirement],
    index: IndexOptions,
    ends: Endpoints,
) -> Catalog | None:
    """The snapshot with the live pages the decision depends on folded in (one concurrent round);
    None when no page could change the decision (every candidate build is PyPI's)."""
    variants = [v.name for v in live_candidates(target, catalog, requirements)]
    if not variants:
        return None
    # CUDA's triton is PyPI's; PyG's packages and flash-attn have hosts of their own.
    projects = [p for p in requirement_map(requirements) if p not in ("triton", FLASH_ATTN) and p not in PYG]
    config = _config(ctx, index, ends, ends.sources.pytorch, ends.sources.find_links)
    client = net.IndexClient(config, waiting=ctx.say)
    wanted = {(v, p): config.page_url(v, p) for v in variants for p in projects}
    fetched = client.fetch(list(wanted.values()))
    for note in client.notes:
        ctx.note(f"torchpin: {note}\n")
    pages = {}
    for (variant, project), url in wanted.items():
        links = fetched[url].links
        if ends.sources.find_links and links is not None:  # one flat page holds every project
            links = tuple(link for link in links if link.filename.startswith(f"{project.replace('-', '_')}-"))
        pages[(variant, project)] = links
    lacking = [v for v in variants if pages[(v, "torch")] is None]
    if lacking and len(lacking) == len(variants):
        # The index answered, without the pages: a lock from the snapshot would name those very
        # pages and install nowhere, so this is never a reason to fall back.
        listed = net.listed_variants(client)
        if not listed:
            raise UsageError(
                f"{ends.shown} has no {', '.join(lacking)} pages (it lists no variants)",
                hint="--index-url takes a PyTorch-style root whose pages are ROOT/<variant>/<project>/, such as"
                " https://download.pytorch.org/whl; a flat folder of wheels is --find-links",
            )
        raise IndexLacksPages(
            f"{ends.shown} has no {', '.join(lacking)} pages (it lists: {', '.join(listed)})",
            hint="pick a variant it has with --backend, or another mirror",
        )
    return _stated_live(_declared_live(facts.merge(catalog, pages), pages, client), pages, client)


def _stated_live(catalog: Catalog, pages: Mapping[tuple[str, str], Any], client: IndexClient) -> Catalog:
    """Releases whose GPU lists are only inferred: what the index's variants.json states of them."""
    wanted = facts.variants_wanted(catalog, pages)
    stated = _read_small(client, wanted, lambda body, key: facts.stated_arch(body, key[0]))
    return facts.with_stated_arch(catalog, stated)


def _declared_live(catalog: Catalog, pages: Mapping[tuple[str, str], Any], client: IndexClient) -> Catalog:
    """Companion releases the snapshot doesn't know: their torch declaration from the sidecars."""
    wanted = facts.declarations_wanted(catalog, pages)
    declared = _read_small(client, wanted, lambda body, _key: facts.torch_declaration(body))
    return facts.with_declarations(catalog, declared) if declared else catalog


def _read_small(client: IndexClient, wanted: Mapping[str, _K], parse: Callable[[bytes, _K], _V | None]) -> dict[_K, _V]:
    """Small files (sidecars, variants.json) read all at once, each parsed; one that can't be read or
    parsed states nothing."""
    bodies = client.fetch_files(list(wanted)) if wanted else {}
    found = {}
    for url, key in wanted.items():
        if (body := bodies.get(url)) and (value := parse(body, key)) is not None:
            found[key] = value
    return found
