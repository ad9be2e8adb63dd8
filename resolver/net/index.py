"""Fetch index pages (edge): concurrent, cached with revalidation, retried, size-capped, deadlined.

Every request goes through ``net`` (the one client factory; each hop checked). URLs here are
credential-free: ``net.NetPolicy`` holds the credentials and sends them to their origin only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from torchpin import net
from torchpin.errors import IndexFormatError, IndexUnavailable, UsageError
from torchpin.facts.wheels import parse_variant
from torchpin.models import DEFAULT_PYTORCH_INDEX

from .pagecache import PageCache, fresh
from .policy import NetPolicy
from .urls import mask, refusals, strip_credentials

if TYPE_CHECKING:
    from torchpin.facts.simple import Link

    from .http import Transport
ACCEPT = "application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.9"  # the real index ignores it


@dataclass(frozen=True)
class IndexConfig:
    """Where pages come from and how hard to try."""

    base_url: str = DEFAULT_PYTORCH_INDEX
    find_links: str | None = None  # flat mirror root: <find_links>/<variant>/ lists wheels
    policy: NetPolicy = field(default_factory=NetPolicy)
    cache_dir: Path | None = None
    refresh: bool = False
    retries: int = 3
    backoff: float = 0.2
    max_bytes: int = 32 * 1024 * 1024
    deadline: float = 60.0  # the whole fetch round, every page and retry included
    max_age: float = 300.0  # a cached page younger than this is used without asking (unless the index says)

    @property
    def timeout(self) -> float:
        return self.policy.timeout

    def page_url(self, variant: str, project: str) -> str:
        if self.find_links:
            return f"{self.find_links.rstrip('/')}/{variant}/"
        return f"{self.base_url.rstrip('/')}/{variant}/{project}/"


@dataclass(frozen=True)
class Page:
    """One fetched page: its wheel links, or None when the index has no such page (403/404)."""

    url: str
    links: tuple[Link, ...] | None
    cached: bool = False  # answered 304: the cached body was used


class IndexClient:
    """Fetches many pages at once; one instance per command."""

    def __init__(
        self,
        config: IndexConfig,
        *,
        transport: Transport | None = None,
        waiting: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.transport = transport
        self.notes: list[str] = []  # what a human should hear: corrupt cache copies, refused links
        self.waiting = waiting  # told, while a round is slow, what it still waits for

    def fetch(self, urls: Sequence[str]) -> dict[str, Page]:
        """Fetch every URL concurrently; raise IndexUnavailable / IndexFormatError on the first failure."""
        wanted = [strip_credentials(u) for u in dict.fromkeys(urls)]
        for url in wanted:
            self.config.policy.check(url)
        pages = {u: page for u in wanted if (page := self._fresh(u)) is not None}
        todo = [u for u in wanted if u not in pages]
        if todo:  # only a request pays for asyncio and the HTTP stack (~60 ms of imports): net.fetch
            pages.update(net.fetch_pages(self, todo))
        return {u: pages[strip_credentials(u)] for u in urls}

    def _fresh(self, url: str) -> Page | None:
        """The cached page when it is fresh enough to use without asking the index."""
        if self.config.cache_dir is None or self.config.refresh:
            return None
        cache = PageCache(self.config.cache_dir, url)
        meta = cache.load()
        if meta is None or not fresh(meta, self.config.max_age):
            return None
        if meta.get("absent"):
            return Page(url, None, cached=True)
        body = cache.body()
        try:
            links = self._parse(body, str(meta.get("content_type")), url, cache) if body is not None else None
        except IndexFormatError:
            links = None
        if links is None:
            return None  # unreadable: the request path refetches (and notes) it
        return Page(url, links, cached=True)

    def fetch_files(self, urls: Sequence[str], *, max_bytes: int = 1 << 20) -> dict[str, bytes | None]:
        """Small immutable files (PEP 658 metadata sidecars): from the cache when there, else one
        GET each, all at once; None for a file that isn't there or can't be read (no declaration
        is then known, which is not an error)."""
        out: dict[str, bytes | None] = {}
        todo = []
        for url in dict.fromkeys(urls):
            self.config.policy.check(url)
            cache = PageCache(self.config.cache_dir, url) if self.config.cache_dir else None
            body = cache.body() if cache and not self.config.refresh and cache.load() else None
            if body is not None:
                out[url] = body
            else:
                todo.append(url)
        if todo:
            out.update(net.fetch_bodies(self, todo, max_bytes))
        return out

    def hash_files(self, urls: Sequence[str], *, deadline: float = 900.0) -> dict[str, str | None]:
        """Each file's sha256, read whole (each hop checked); None where it couldn't be read."""
        for url in urls:
            self.config.policy.check(url)
        return net.hash_files(self, list(dict.fromkeys(urls)), deadline)

    def _parse(self, body: bytes, ctype: str, url: str, cache: PageCache | None = None) -> tuple[Link, ...]:
        """The page's links that meet the policy. A cached page's parse is kept beside it: parsing a
        2,000-link page costs ~100 ms, reading the kept parse ~3 ms."""
        parsed = cache.parsed(body) if cache else None
        if parsed is None:
            from torchpin.facts.simple import parse_html, parse_page  # html.parser: only for a page not parsed before

            dropped: list[str] = []
            if self.config.find_links:
                links = parse_html(body.decode("utf-8", "replace"), url, flat=True, dropped=dropped)
            else:
                links = parse_page(body, ctype, url, dropped=dropped)
            parsed = (links, dropped)
            if cache:
                cache.keep_parsed(body, *parsed)
        links, dropped = parsed[0], list(parsed[1])
        whys = refusals([link.url for link in links], self.config.policy.trusted_hosts)
        kept = [link for link, why in zip(links, whys, strict=True) if why is None]
        dropped += [f"{link.filename}: {why}" for link, why in zip(links, whys, strict=True) if why]
        if dropped:
            more = f" (+{len(dropped) - 1} more)" if len(dropped) > 1 else ""
            self.notes.append(f"ignored {len(dropped)} link(s) on {mask(url)}: {dropped[0]}{more}")
        return tuple(kept)


def listed_variants(client: IndexClient) -> list[str]:
    """Variant folders the mirror's root page lists, for 'this mirror has …' messages."""
    root = (client.config.find_links or client.config.base_url).rstrip("/") + "/"
    try:
        links = client.fetch([root])[root].links or ()
    except (IndexUnavailable, IndexFormatError):
        return []
    names = {link.url.rstrip("/").rsplit("/", 1)[-1] for link in links}
    return sorted(n for n in names if _is_variant(n))


def _is_variant(name: str) -> bool:
    try:
        parse_variant(name)
    except UsageError:
        return False
    return True
