"""One ``Context`` per command: the environment, the machine probed once, the catalog parsed once,
the user's endpoints validated once, and where words for humans go.

The CLI builds it; commands read no ``os.environ`` and write no ``sys.stderr`` themselves, so a
test hands a command any environment and reads back everything it said.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

from torchpin import machine, net
from torchpin.decide.targets import TargetFlags
from torchpin.errors import UsageError
from torchpin.facts.snapshot import Catalog, load_catalog
from torchpin.facts.wheels import parse_variant
from torchpin.models import DEFAULT_FLASH_ATTN_URL, DEFAULT_PYG_URL, DEFAULT_PYPI_INDEX, DEFAULT_PYTORCH_INDEX, Sources
from torchpin.net.urls import Credential, check_scheme, split_credentials, validate_url

if TYPE_CHECKING:
    from torchpin.machine.host import Host
    from torchpin.net.policy import NetPolicy


@dataclass(frozen=True)
class IndexOptions:
    """INDEX options of lock/install/detect as given on the command line."""

    index_url: str | None = None
    find_links: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    offline: bool = False
    refresh: bool = False
    no_fallback: bool = False
    timeout: float = 10.0
    deadline: float = 60.0
    cache_dir: str | None = None  # None: the platform's cache folder
    no_cache: bool = False  # read and write no cached page


# Where "everything else" (PyPI's side) comes from, first given first: torchpin's own variable, then
# the ones uv and pip already read, so a company mirror set for them is the lock's index too.
PYPI_VARIABLES = ("TORCHPIN_PYPI_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")


class Endpoints(NamedTuple):
    """The user's index URLs, credential-free, with the credentials apart."""

    sources: Sources
    credentials: tuple[Credential, ...]
    options: IndexOptions
    environ: Mapping[str, str]
    pypi_from: str | None = None  # the variable that named PyPI's side, when one did

    def net(self) -> NetPolicy:
        """The network policy for these endpoints (built when a request or an installer needs it)."""
        ix = self.options
        return net.NetPolicy(ix.trusted_hosts, ix.cert, self.credentials, timeout=ix.timeout, environ=self.environ)

    @property
    def shown(self) -> str:
        """The index named in messages: the flat mirror when there is one."""
        return net.mask(self.sources.find_links or self.sources.pytorch)


class Context:
    """What a command may consult about the world, each part computed at most once."""

    def __init__(
        self,
        environ: Mapping[str, str],
        snapshot: Callable[[], bytes],
        say: Callable[[str], None],
        *,
        tty: bool = False,
    ) -> None:
        self.environ: Mapping[str, str] = dict(environ)
        self._snapshot = snapshot
        self._say = say
        self.tty = tty  # stderr is a terminal: progress may redraw a line
        self._catalog: Catalog | None = None
        self._host: Host | None = None
        self._endpoints: dict[IndexOptions, Endpoints] = {}
        self._interpreters: dict[str, dict[str, str]] = {}
        self._notes: list[str] = []

    def say(self, text: str) -> None:
        """Text for humans (stderr), credentials masked; the caller ends its lines."""
        self._say(net.scrub(text))

    def note(self, text: str) -> None:
        """A note about the result, kept until ``flush`` (the command succeeded): a failure says
        one line, its error. Said once however many targets or attempts raise it."""
        if text not in self._notes:
            self._notes.append(text)

    def pending(self) -> list[str]:
        """The notes kept so far, not yet said."""
        return list(self._notes)

    def flush(self) -> None:
        """Say the notes kept so far."""
        notes, self._notes = self._notes, []
        for text in notes:
            self.say(text)

    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self._snapshot(), "embedded wheel_index.json")
        return self._catalog

    def host(self) -> Host:
        if self._host is None:
            self._host = machine.detect_host(self.environ)  # the probes load only for a command that detects
        return self._host

    def interpreter(self, python: str) -> dict[str, str]:
        """What a target interpreter says of itself (``machine.read_interpreter``), asked once."""
        if python not in self._interpreters:
            self._interpreters[python] = machine.read_interpreter(python)
        return self._interpreters[python]

    def endpoints(self, index: IndexOptions) -> Endpoints:
        """Validate the user's URLs (exit 2) and split their credentials off, once, at the boundary."""
        if index not in self._endpoints:
            self._endpoints[index] = _endpoints(index, self.environ)
        return self._endpoints[index]

    def cache_max_age(self) -> float:
        """``TORCHPIN_CACHE_MAX_AGE``: at most this many seconds a cached page is used without asking the
        index (default 300; the index's own shorter max-age wins; 0 asks every time)."""
        text = self.environ.get("TORCHPIN_CACHE_MAX_AGE", "").strip()
        if not text:
            return 300.0
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value < 10**9:
            raise UsageError(f"TORCHPIN_CACHE_MAX_AGE={text!r} is not a number of seconds", hint="e.g. 300, or 0")
        return value


def _endpoints(index: IndexOptions, environ: Mapping[str, str]) -> Endpoints:
    pypi_from = next((name for name in PYPI_VARIABLES if (environ.get(name) or "").strip()), None)
    given = {
        "--index-url": (index.index_url or DEFAULT_PYTORCH_INDEX).rstrip("/"),
        "--find-links": index.find_links,
        pypi_from or "TORCHPIN_PYPI_URL": (environ.get(pypi_from or "") or "").strip().rstrip("/") or None,
        "TORCHPIN_PYG_URL": (environ.get("TORCHPIN_PYG_URL") or "").rstrip("/") or None,
        "TORCHPIN_FLASH_ATTN_URL": (environ.get("TORCHPIN_FLASH_ATTN_URL") or "").rstrip("/") or None,
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
    sources = Sources(
        clean["--index-url"] or DEFAULT_PYTORCH_INDEX,
        clean["--find-links"],
        clean[pypi_from or "TORCHPIN_PYPI_URL"] or DEFAULT_PYPI_INDEX,
        pyg=clean["TORCHPIN_PYG_URL"] or DEFAULT_PYG_URL,
        flash_attn=clean["TORCHPIN_FLASH_ATTN_URL"] or DEFAULT_FLASH_ATTN_URL,
    )
    return Endpoints(sources, tuple(creds), index, environ, pypi_from)


def variant_root(ctx: Context, index: IndexOptions, flags: TargetFlags) -> tuple[IndexOptions, TargetFlags]:
    """pip's and uv's users pass a variant index (``…/whl/cu121``) where torchpin takes the root:
    that is the root plus ``--backend cu121``, with a note. A --backend naming another variant is
    exit 2: the two ask for different builds."""
    url = (index.index_url or "").rstrip("/")
    root, _, last = url.rpartition("/")
    if "://" not in root:
        return index, flags
    try:
        variant = parse_variant(last)
    except UsageError:
        return index, flags
    if flags.backend not in ("auto", str(variant)):
        raise UsageError(
            f"--index-url {net.mask(url)} is the {variant} index, and --backend {flags.backend} asks for another build",
            hint=f"give the index root --index-url {net.mask(root)} with --backend {flags.backend}",
        )
    said = f"{net.mask(url)} is the {variant} variant index: locking from its root with --backend {variant}"
    ctx.note(f"torchpin: {said}\n")
    return replace(index, index_url=root), replace(flags, backend=str(variant))
