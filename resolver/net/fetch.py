"""The request side of ``index`` (edge): one concurrent round of GETs, retried, revalidated, capped and
deadlined. Loaded only when a page or sidecar is not fresh in the cache (asyncio and httpx cost
~60 ms to import)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from torchpin.errors import IndexFormatError, IndexUnavailable

from . import http as net
from .index import ACCEPT, Page
from .pagecache import PageCache, max_age
from .policy import DeadlineExceeded, TlsFailure
from .urls import mask, origin

# When a slow round is said to still be waiting: a few seconds in, then every 15 s.
WAIT_NOTICES = (4.0, *([15.0] * 40))
# ``hash_files``' answer for a file the host says isn't there (403/404), told apart from one that
# couldn't be read (None): a missing release asset is a fact about the release.
ABSENT = ""

if TYPE_CHECKING:
    from .http import AsyncClient, Response
    from .index import IndexClient


def fetch_pages(ix: IndexClient, urls: Sequence[str]) -> dict[str, Page]:
    """GET every URL at once; the first failure raises IndexUnavailable / IndexFormatError."""
    work = _Fetcher(ix)._fetch_all(list(urls))
    return net.run_within(ix.config.deadline, work, f"reading {len(urls)} index page(s)")


def fetch_bodies(ix: IndexClient, urls: Sequence[str], max_bytes: int) -> dict[str, bytes | None]:
    """Small immutable files at once; None for one that isn't there or can't be read."""
    work = _Fetcher(ix)._files(list(urls), max_bytes)
    return net.run_within(ix.config.deadline, work, "reading metadata sidecars")


def hash_files(ix: IndexClient, urls: Sequence[str], deadline: float) -> dict[str, str | None]:
    """The sha256 of each file, streamed (data.pyg.org's pages and GitHub's release assets carry no
    hashes); ``ABSENT`` for one the host says isn't there, None for one that couldn't be read. A
    digest is kept in the cache: the files are immutable."""
    work = _Fetcher(ix)._hashes(list(urls))
    return net.run_within(deadline, work, f"hashing {len(urls)} file(s)")


class _Retry(Exception):
    """One attempt failed in a way worth another try; the text says why."""

    def __init__(self, why: str, *, drop_cache: bool = False) -> None:
        super().__init__(why)
        self.drop_cache = drop_cache


class _Fetcher:
    """The async half of one ``IndexClient``: its config, transport, notes and parser."""

    def __init__(self, ix: IndexClient) -> None:
        self.config = ix.config
        self.transport = ix.transport
        self.notes = ix.notes
        self.waiting = ix.waiting
        self._parse = ix._parse

    async def _fetch_all(self, urls: list[str]) -> dict[str, Page]:
        async with net.client(self.config.policy, transport=self.transport) as http:
            tasks = [asyncio.ensure_future(self._fetch_one(http, u)) for u in urls]
            watch = asyncio.ensure_future(self._watch(urls, tasks))
            try:
                pages = await asyncio.gather(*tasks)
            finally:  # the first failure decides: stop the rest before the client closes
                for task in [*tasks, watch]:
                    task.cancel()
                await asyncio.gather(*tasks, watch, return_exceptions=True)
        return dict(zip(urls, pages, strict=True))

    async def _watch(self, urls: list[str], tasks: Sequence[asyncio.Future[Any]]) -> None:
        """An index that accepts and never answers costs the whole deadline: after a few seconds
        say what torchpin waits for, and how long it will, then again now and then."""
        if self.waiting is None:
            return
        start = asyncio.get_running_loop().time()
        for delay in WAIT_NOTICES:
            await asyncio.sleep(delay)
            open_urls = [u for u, t in zip(urls, tasks, strict=True) if not t.done()]
            if not open_urls:
                return
            waited = asyncio.get_running_loop().time() - start
            hosts = sorted({origin(u).host or mask(u) for u in open_urls})
            self.waiting(
                f"torchpin: waiting for {', '.join(hosts)}: {len(open_urls)} of {len(urls)} page(s) unanswered "
                f"after {waited:.0f} s (each try gives up after {self.config.timeout:g} s, all of it after "
                f"{self.config.deadline:g} s; --offline decides from the snapshot)\n"
            )

    async def _fetch_one(self, http: AsyncClient, url: str) -> Page:
        cache = PageCache(self.config.cache_dir, url) if self.config.cache_dir else None
        cached = None if (cache is None or self.config.refresh) else cache.load()
        # One attempt may take three read timeouts in all: a server that drips a byte per
        # second passes every per-read timeout and is cut here instead.
        attempt_deadline = self.config.timeout * 3
        last = "no answer"
        attempt = 0
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(min(self.config.backoff * 2 ** (attempt - 1), 2.0))
            try:
                page, cached = await net.within(attempt_deadline, self._attempt(http, url, cache, cached), mask(url))
                return page
            except _Retry as e:
                last = str(e)
                if e.drop_cache:
                    cached = None  # ask for the page whole, without validators
            except DeadlineExceeded:
                last = f"no whole answer within {attempt_deadline:g} s"
            except net.ConnectError as e:
                if net.is_tls_failure(e):  # a certificate does not heal in a second
                    raise TlsFailure(f"{mask(url)}: {net.describe(e)}", hint=self.config.policy.ca_hint()) from None
                last = net.describe(e)
                if last == "cannot resolve the host name":
                    break  # nor does DNS
            except net.TimeoutException:
                last = f"no answer within {self.config.timeout:g} s"
            except net.ResetErrors:
                last = "the connection was reset or closed early"
            except net.TransportErrors as e:
                last = net.describe(e)
        tries = attempt + 1
        raise IndexUnavailable(f"{mask(url)}: {last} ({tries} {'try' if tries == 1 else 'tries'})")

    async def _files(self, urls: list[str], max_bytes: int) -> dict[str, bytes | None]:
        async with net.client(self.config.policy, transport=self.transport) as http:
            bodies = await asyncio.gather(*(self._file(http, u, max_bytes) for u in urls))
        return dict(zip(urls, bodies, strict=True))

    async def _file(self, http: AsyncClient, url: str, max_bytes: int) -> bytes | None:
        try:
            async with net.open_url(http, self.config.policy, url) as (response, _):
                if response.status_code != 200:
                    return None
                body = await net.read_body(response, max_bytes)
        except (net.HTTPError, IndexUnavailable):
            return None
        if body is None:
            return None
        if self.config.cache_dir:  # content-addressed by its wheel: never needs revalidating
            PageCache(self.config.cache_dir, url).save(bytes(body), '"immutable"', None, "application/octet-stream")
        return bytes(body)

    async def _hashes(self, urls: list[str]) -> dict[str, str | None]:
        async with net.client(self.config.policy, transport=self.transport) as http:
            digests = await asyncio.gather(*(self._hash(http, u) for u in urls))
        return dict(zip(urls, digests, strict=True))

    async def _hash(self, http: AsyncClient, url: str) -> str | None:
        cache = PageCache(self.config.cache_dir, url + "#sha256") if self.config.cache_dir else None
        kept = cache.body() if cache and not self.config.refresh and cache.load() else None
        if kept is not None and len(kept) == 64:
            return kept.decode("ascii", "replace")
        digest = hashlib.sha256()
        try:
            async with net.open_url(http, self.config.policy, url) as (response, _):
                if response.status_code in (403, 404):
                    return ABSENT
                if response.status_code != 200:
                    return None
                async for chunk in response.aiter_bytes(1 << 20):
                    digest.update(chunk)
        except (net.HTTPError, IndexUnavailable):
            return None
        if cache:
            cache.save(digest.hexdigest().encode(), '"immutable"', None, "text/plain")
        return digest.hexdigest()

    async def _attempt(
        self, http: AsyncClient, url: str, cache: PageCache | None, cached: dict[str, Any] | None
    ) -> tuple[Page, dict[str, Any] | None]:
        """One GET; returns the page and the cache entry still worth revalidating with."""
        headers = {"Accept": ACCEPT}
        if cached:
            if cached.get("etag"):
                headers["If-None-Match"] = str(cached["etag"])
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = str(cached["last_modified"])
        async with net.open_url(http, self.config.policy, url, headers) as (response, final_url):
            status = response.status_code
            if status == 304 and cached and cache:
                body = cache.body()
                if body is not None:
                    try:
                        page = Page(url, self._parse(body, str(cached.get("content_type")), url, cache), cached=True)
                        cache.touch(cached)
                        return page, cached
                    except IndexFormatError:
                        pass
                # The cache is what is broken, not the index: drop it and ask for the page whole.
                self.notes.append(f"discarded a corrupt cached copy of {mask(url)} in {cache.root}")
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
            try:
                links = self._parse(body, ctype, final_url, cache)
            except IndexFormatError as e:
                if "truncated" in e.message:
                    raise _Retry("the page was cut off") from None  # a cut transfer is worth another try
                raise
            if cache:
                cache.save(
                    body,
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                    ctype,
                    max_age=max_age(response.headers.get("cache-control")),
                )
            return Page(url, links), cached

    async def _read_capped(self, response: Response, url: str) -> bytes:
        body = await net.read_body(response, self.config.max_bytes)
        if body is None:
            raise IndexFormatError(mask(url), f"page is larger than {self.config.max_bytes // (1024 * 1024)} MiB")
        return body
