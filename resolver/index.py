"""Fetch index pages (edge): concurrent, cached with revalidation, retried, size-capped, deadlined.

Every request goes through ``net`` (the one client factory; each hop checked). URLs here are
credential-free: ``net.NetPolicy`` holds the credentials and sends them to their origin only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IndexFormatError, IndexUnavailable
from .net import DeadlineExceeded, NetPolicy, TlsFailure, describe, is_tls_failure, open_url, read_body, within
from .pagecache import PageCache, fresh, max_age
from .urls import DEFAULT_INDEX, mask, refusals, strip_credentials

if TYPE_CHECKING:
    import httpx

    from .simple import Link
ACCEPT = "application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.9"  # the real index ignores it


@dataclass(frozen=True)
class IndexConfig:
    """Where pages come from and how hard to try."""

    base_url: str = DEFAULT_INDEX
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


@dataclass
class FetchStats:
    requests: int = 0
    full: int = 0
    not_modified: int = 0
    retries: int = 0
    fresh: int = 0  # answered from the cache without a request
    notes: list[str] = field(default_factory=list)


class _Retry(Exception):
    """One attempt failed in a way worth another try; the text says why."""

    def __init__(self, why: str, *, drop_cache: bool = False) -> None:
        super().__init__(why)
        self.drop_cache = drop_cache


class IndexClient:
    """Fetches many pages at once; one instance per command."""

    def __init__(self, config: IndexConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.transport = transport
        self.stats = FetchStats()

    def fetch(self, urls: Sequence[str]) -> dict[str, Page]:
        """Fetch every URL concurrently; raise IndexUnavailable / IndexFormatError on the first failure."""
        wanted = [strip_credentials(u) for u in dict.fromkeys(urls)]
        for url in wanted:
            self.config.policy.check(url)
        pages = {u: page for u in wanted if (page := self._fresh(u)) is not None}
        todo = [u for u in wanted if u not in pages]
        if todo:  # only a request pays for asyncio and the HTTP stack (~60 ms of imports)
            import asyncio

            reading = within(self.config.deadline, self._fetch_all(todo), f"reading {len(todo)} index page(s)")
            pages.update(asyncio.run(reading))
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
            self.stats.fresh += 1
            return Page(url, None, cached=True)
        body = cache.body()
        try:
            links = self._parse(body, str(meta.get("content_type")), url, cache) if body is not None else None
        except IndexFormatError:
            links = None
        if links is None:
            return None  # unreadable: the request path refetches (and notes) it
        self.stats.fresh += 1
        return Page(url, links, cached=True)

    async def _fetch_all(self, urls: list[str]) -> dict[str, Page]:
        import asyncio

        from .net import client

        async with client(self.config.policy, transport=self.transport) as http:
            tasks = [asyncio.ensure_future(self._fetch_one(http, u)) for u in urls]
            try:
                pages = await asyncio.gather(*tasks)
            finally:  # the first failure decides: stop the rest before the client closes
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return dict(zip(urls, pages, strict=True))

    async def _fetch_one(self, http: httpx.AsyncClient, url: str) -> Page:
        import asyncio

        import httpx

        cache = PageCache(self.config.cache_dir, url) if self.config.cache_dir else None
        cached = None if (cache is None or self.config.refresh) else cache.load()
        # One attempt may take three read timeouts in all: a server that drips a byte per
        # second passes every per-read timeout and is cut here instead.
        attempt_deadline = self.config.timeout * 3
        last = "no answer"
        attempt = 0
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.stats.retries += 1
                await asyncio.sleep(min(self.config.backoff * 2 ** (attempt - 1), 2.0))
            try:
                page, cached = await within(attempt_deadline, self._attempt(http, url, cache, cached), mask(url))
                return page
            except _Retry as e:
                last = str(e)
                if e.drop_cache:
                    cached = None  # ask for the page whole, without validators
            except DeadlineExceeded:
                last = f"no whole answer within {attempt_deadline:g} s"
            except httpx.ConnectError as e:
                if is_tls_failure(e):  # a certificate does not heal in a second
                    raise TlsFailure(f"{mask(url)}: {describe(e)}", hint=self.config.policy.ca_hint()) from None
                last = describe(e)
                if last == "cannot resolve the host name":
                    break  # nor does DNS
            except httpx.TimeoutException:
                last = f"no answer within {self.config.timeout:g} s"
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                last = "the connection was reset or closed early"
            except (httpx.TransportError, httpx.InvalidURL) as e:
                last = describe(e)
        tries = attempt + 1
        raise IndexUnavailable(f"{mask(url)}: {last} ({tries} {'try' if tries == 1 else 'tries'})")

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
            import asyncio

            got = asyncio.run(within(self.config.deadline, self._files(todo, max_bytes), "reading metadata sidecars"))
            out.update(got)
        return out

    async def _files(self, urls: list[str], max_bytes: int) -> dict[str, bytes | None]:
        import asyncio

        from .net import client

        async with client(self.config.policy, transport=self.transport) as http:
            bodies = await asyncio.gather(*(self._file(http, u, max_bytes) for u in urls))
        return dict(zip(urls, bodies, strict=True))

    async def _file(self, http: httpx.AsyncClient, url: str, max_bytes: int) -> bytes | None:
        import httpx

        self.stats.requests += 1
        try:
            async with open_url(http, self.config.policy, url) as (response, _):
                if response.status_code != 200:
                    return None
                body = await read_body(response, max_bytes)
        except (httpx.HTTPError, IndexUnavailable):
            return None
        if body is None:
            return None
        if self.config.cache_dir:  # content-addressed by its wheel: never needs revalidating
            PageCache(self.config.cache_dir, url).save(bytes(body), '"immutable"', None, "application/octet-stream")
        return bytes(body)

    async def _attempt(
        self, http: httpx.AsyncClient, url: str, cache: PageCache | None, cached: dict[str, Any] | None
    ) -> tuple[Page, dict[str, Any] | None]:
        """One GET; returns the page and the cache entry still worth revalidating with."""
        headers = {"Accept": ACCEPT}
        if cached:
            if cached.get("etag"):
                headers["If-None-Match"] = str(cached["etag"])
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = str(cached["last_modified"])
        self.stats.requests += 1
        async with open_url(http, self.config.policy, url, headers) as (response, final_url):
            status = response.status_code
            if status == 304 and cached and cache:
                self.stats.not_modified += 1
                body = cache.body()
                if body is not None:
                    try:
                        page = Page(url, self._parse(body, str(cached.get("content_type")), url, cache), cached=True)
                        cache.touch(cached)
                        return page, cached
                    except IndexFormatError:
                        pass
                # The cache is what is broken, not the index: drop it and ask for the page whole.
                self.stats.notes.append(f"discarded a corrupt cached copy of {mask(url)} in {cache.root}")
                cache.discard()
                raise _Retry("the cached copy was unreadable", drop_cache=True)
            if status in (403, 404):
                if cache:  # "no such page" is an answer too: a warm run needn't ask again
                    cache.save(b"", None, None, "", max_age=max_age(response.headers.get("cache-control")), absent=True)
                return Page(url, None), cached
            if status >= 500 or status == 429:
                raise _Retry(f"HTTP {status}")
            if status in (401, 407):
                who = "the proxy" if status == 407 else "the index"
                raise IndexUnavailable(
                    f"{mask(url)}: HTTP {status}: {who} wants credentials",
                    hint="put them in the URL (https://USER:TOKEN@host/...) or in ~/.netrc",
                )
            if status != 200:
                raise IndexUnavailable(f"{mask(url)}: HTTP {status}")
            body = await self._read_capped(response, url)
            ctype = response.headers.get("content-type", "text/html")
            self.stats.full += 1
            try:
                links = self._parse(body, ctype, final_url, cache)
            except IndexFormatError as e:
                if "truncated" in e.message:
                    raise _Retry("the page was cut off") from None  # a cut transfer is worth another try
                raise
            if cache:
                cache.save(body, response.headers.get("etag"), response.headers.get("last-modified"), ctype,
                           max_age=max_age(response.headers.get("cache-control")))  # fmt: skip
            return Page(url, links), cached

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        body = await read_body(response, self.config.max_bytes)
        if body is None:
            raise IndexFormatError(mask(url), f"page is larger than {self.config.max_bytes // (1024 * 1024)} MiB")
        return body

    def _parse(self, body: bytes, ctype: str, url: str, cache: PageCache | None = None) -> tuple[Link, ...]:
        """The page's links that meet the policy. A cached page's parse is kept beside it: parsing a
        2,000-link page costs ~100 ms, reading the kept parse ~3 ms."""
        parsed = cache.parsed(body) if cache else None
        if parsed is None:
            from .simple import parse_html, parse_page  # html.parser: only for a page not parsed before

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
            self.stats.notes.append(f"ignored {len(dropped)} link(s) on {mask(url)}: {dropped[0]}{more}")
        return tuple(kept)


def listed_variants(client: IndexClient) -> list[str]:
    """Variant folders the mirror's root page lists, for 'this mirror has …' messages."""
    import re

    root = (client.config.find_links or client.config.base_url).rstrip("/") + "/"
    try:
        links = client.fetch([root])[root].links or ()
    except (IndexUnavailable, IndexFormatError):
        return []
    names = {link.url.rstrip("/").rsplit("/", 1)[-1] for link in links}
    return sorted(n for n in names if re.fullmatch(r"cu\d{3,4}|rocm\d+(\.\d+){1,2}|cpu|xpu", n))
