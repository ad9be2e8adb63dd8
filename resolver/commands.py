"""Command bodies behind the CLI: wire detect → target → catalog → policy → render."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import IndexFormatError, IndexUnavailable
from .lockfile import render
from .models import Plan, Requirement, Target
from .policy import select
from .snapshot import Catalog, load_catalog
from .targets import TargetFlags, build_target

if TYPE_CHECKING:
    from .host import Host
    from .index import IndexClient
    from .net import NetPolicy
    from .urls import Credential


class Probe:
    """This machine, probed at most once per command (install and doctor need it twice)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        import os

        self.environ = dict(os.environ if environ is None else environ)
        self._host: Host | None = None

    def host(self) -> Host:
        if self._host is None:
            from .detect import detect_host

            self._host = detect_host(self.environ)
        return self._host


def resolve_target(
    flags: TargetFlags, known_variants: list[str], probe: Probe | None = None
) -> tuple[Target, tuple[str, ...]]:
    """Detect this machine (unless --no-detect), then let every given flag override its part.

    Returns the target and what detection contributed, for the lock header.
    """
    if flags.no_detect:  # this interpreter's Python and OS only: no probe module is even imported
        from .interpreter import host_platform, host_python

        return build_target(flags, Target(host_python(), host_platform()), known_variants), ()
    from .host import decide, host_target

    host = (probe or Probe()).host()
    target = build_target(flags, host_target(host), known_variants)
    detected: tuple[str, ...] = ()
    if target.accelerator == decide(host)[0]:
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
    deadline: float = 60.0


class Endpoints(NamedTuple):
    """The user's index URLs with credentials split off, and the credentials apart."""

    base: str
    find_links: str | None
    pypi: str | None
    credentials: tuple[Credential, ...]
    options: IndexOptions
    environ: Mapping[str, str]

    def policy(self) -> NetPolicy:
        """The network policy (imports the HTTP layer: only for a live lock or an install)."""
        from .net import NetPolicy

        ix = self.options
        return NetPolicy(ix.trusted_hosts, ix.cert, self.credentials, timeout=ix.timeout, environ=dict(self.environ))


def endpoints(index: IndexOptions, environ: Mapping[str, str]) -> Endpoints:
    """Validate the user's URLs (exit 2) and split their credentials off, once, at the boundary."""
    from .urls import DEFAULT_INDEX, check_scheme, split_credentials, validate_url

    given = {
        "--index-url": (index.index_url or DEFAULT_INDEX).rstrip("/"),
        "--find-links": index.find_links,
        "TORCHPIN_PYPI_URL": (environ.get("TORCHPIN_PYPI_URL") or "").rstrip("/") or None,
    }
    clean: dict[str, str | None] = {}
    creds = []
    for what, url in given.items():
        if url is None:
            clean[what] = None
            continue
        validate_url(url, what)
        check_scheme(url, index.trusted_hosts)
        bare, cred = split_credentials(url)
        clean[what] = bare
        if cred:
            creds.append(cred)
    return Endpoints(
        clean["--index-url"] or "", clean["--find-links"], clean["TORCHPIN_PYPI_URL"], tuple(creds), index, environ
    )


def run_lock(
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    *,
    fmt: str,
    explain: bool,
    snapshot: Callable[[], bytes],
    pyproject: str | None = None,
    add: bool = False,
    full: Sequence[str] | None = None,
    targets: Sequence[str] = (),
) -> tuple[str, list[str]]:
    """Return (lock text, stderr lines); raise TorchpinError on any failure.

    For ``pyproject`` the text is the user's ``pyproject`` edited, not a new file. With ``targets``
    (``--target`` specs) each target is planned as a single lock would plan it, then one lock
    serves them all.
    """
    import os

    from .errors import UsageError

    notes: list[str] = []
    plans = _plans(requirements, flags, index, targets, snapshot, notes)
    if explain:
        from .render import explain as explain_text

        notes += [(f"--target {label}:\n" if label else "") + explain_text(plan) for label, plan in plans]
    if fmt == "pyproject":
        from .pyproject import edit

        return edit(pyproject or "", plans, add=add), notes
    if fmt == "pylock":
        from .pylock import pylock

        text, more = pylock(plans, full or [], endpoints(index, os.environ).policy(), offline=index.offline)
        return text, notes + more
    if full is not None:  # the other requirements, to resolve with the torch family
        if targets:
            raise UsageError("--full resolves one target", hint="use --format pylock for several targets")
        from .full import full_lock

        return full_lock(plans[0][1], full, endpoints(index, os.environ).policy()), notes
    if targets:
        from .multi import render as render_multi

        return render_multi([(label or "", plan) for label, plan in plans], fmt), notes
    return render(plans[0][1], fmt), notes


def _plans(
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    targets: Sequence[str],
    snapshot: Callable[[], bytes],
    notes: list[str],
) -> list[tuple[str | None, Plan]]:
    """One plan per ``--target`` (or one for the single target), each made as a single lock makes it."""
    if not targets:
        plan, more = make_plan(requirements, flags, index, snapshot=snapshot)
        notes += more
        return [(None, plan)]
    from .multi import check_shared, parse_spec

    check_shared(flags)
    plans: list[tuple[str | None, Plan]] = []
    for spec in targets:
        named = parse_spec(spec, flags)
        plan, more = make_plan(requirements, named.flags, index, snapshot=snapshot)
        notes += [n for n in more if n not in notes]
        plans.append((named.label, plan))
    return plans


def make_plan(
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    *,
    snapshot: Callable[[], bytes],
    probe: Probe | None = None,
) -> tuple[Plan, list[str]]:
    """Target → catalog (live pages over the snapshot, unless offline) → plan, plus stderr notes."""
    import os

    from .targets import applicable
    from .urls import mask

    catalog = load_catalog(snapshot(), "embedded wheel_index.json")
    ends = endpoints(index, os.environ)
    if ends.pypi:  # a PyPI proxy (Artifactory, devpi …)
        catalog = replace(catalog, pypi_index_url=ends.pypi)
    target, detected = resolve_target(flags, catalog.variant_names, probe)
    requirements = applicable(requirements, target)
    stderr: list[str] = []
    source, detail = "snapshot", f"embedded snapshot of {catalog.snapshot_date}"
    if not index.offline:
        try:
            catalog = _live_catalog(catalog, target, requirements, index, ends, stderr)
            source, detail = "live", f"live index {mask(ends.find_links or ends.base)}"
        except (IndexUnavailable, IndexFormatError) as e:
            if index.no_fallback:
                raise
            from .net import TlsFailure

            hint = f" ({e.hint})" if isinstance(e, TlsFailure) and e.hint else ""
            stderr.append(
                f"torchpin: {e.message}{hint}; locking from the embedded snapshot ({catalog.snapshot_date})\n"
            )
    if ends.credentials:
        stderr.append(
            "torchpin: credentials are not written into the lock; pip and uv read them from netrc or keyring\n"
        )
    catalog = replace(
        catalog, pytorch_index_url=ends.base, find_links_url=ends.find_links, source=source, source_detail=detail
    )
    plan = select(target, catalog, requirements)
    return replace(plan, notes=(*detected, *plan.notes)), stderr


def _live_catalog(
    catalog: Catalog,
    target: Target,
    requirements: Sequence[Requirement],
    index: IndexOptions,
    ends: Endpoints,
    stderr: list[str],
) -> Catalog:
    """The snapshot with the live pages the decision depends on folded in (one concurrent round)."""
    from .index import IndexClient, IndexConfig, listed_variants
    from .live import merge
    from .pagecache import default_cache_dir
    from .policy import live_candidates, requirement_map
    from .urls import mask

    variants = [v.name for v in live_candidates(target, catalog, requirements)]
    if not variants:
        return catalog
    projects = list(requirement_map(requirements))
    config = IndexConfig(
        base_url=ends.base,
        find_links=ends.find_links,
        policy=ends.policy(),
        cache_dir=default_cache_dir(),
        refresh=index.refresh,
        deadline=index.deadline,
        max_age=cache_max_age(ends.environ),
    )
    client = IndexClient(config)
    wanted = {(v, p): config.page_url(v, p) for v in variants for p in projects}
    fetched = client.fetch(list(wanted.values()))
    stderr.extend(f"torchpin: {note}\n" for note in client.stats.notes)
    pages = {}
    for (variant, project), url in wanted.items():
        links = fetched[url].links
        if ends.find_links and links is not None:  # one flat page holds every project
            links = tuple(link for link in links if link.filename.startswith(f"{project}-"))
        pages[(variant, project)] = links
    lacking = [v for v in variants if pages[(v, "torch")] is None]
    if lacking and len(lacking) == len(variants):
        raise IndexUnavailable(
            f"{mask(ends.find_links or ends.base)} has no {', '.join(lacking)} pages"
            f" (it lists: {', '.join(listed_variants(client)) or 'no variants'})",
            hint="pick a variant it has with --backend, or another mirror",
        )
    return _declared_live(merge(catalog, pages), pages, client)


def cache_max_age(environ: Mapping[str, str]) -> float:
    """``TORCHPIN_CACHE_MAX_AGE``: at most this many seconds a cached page is used without asking the
    index (default 300; the index's own shorter max-age wins; 0 asks every time)."""
    from .errors import UsageError

    text = environ.get("TORCHPIN_CACHE_MAX_AGE", "").strip()
    if not text:
        return 300.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**9:
        raise UsageError(f"TORCHPIN_CACHE_MAX_AGE={text!r} is not a number of seconds", hint="e.g. 300, or 0")
    return value


def _declared_live(catalog: Catalog, pages: Mapping[tuple[str, str], Any], client: IndexClient) -> Catalog:
    """Companion releases the snapshot doesn't know: their torch declaration from the sidecars."""
    from .live import declarations_wanted, torch_declaration, with_declarations

    wanted = declarations_wanted(catalog, pages)
    if not wanted:
        return catalog
    bodies = client.fetch_files(list(wanted))
    declared = {}
    for url, key in wanted.items():
        if (body := bodies.get(url)) and (spec := torch_declaration(body)):
            declared[key] = spec
    return with_declarations(catalog, declared)
