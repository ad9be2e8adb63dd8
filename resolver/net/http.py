"""The one way torchpin talks HTTP (edge): client factory, every hop checked, credentials by origin.

Page reads (``index``) and wheel downloads (``install``) both come through ``client`` and
``open_url``; ``tests/reliability/test_policy_lint.py`` fails if any other module builds an
HTTP client. Redirects are followed here, one hop at a time, so each hop meets the scheme/host
policy and credentials are attached only to the origin they were given for.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import ssl
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urljoin

from torchpin.errors import IndexUnavailable, Interrupted, UsageError

from .policy import DeadlineExceeded, NetPolicy
from .urls import mask, split_credentials


def _skip_httpx_cli() -> None:
    """httpx's ``__init__`` imports its command-line client (rich, pygments, click: ~25 ms of a
    cold lock) whenever those are installed, as they are beside torchpin, which never runs it."""
    if "httpx" not in sys.modules and "httpx._main" not in sys.modules:

        def main() -> None:
            raise SystemExit("httpx's command line is not loaded inside torchpin")

        cli = types.ModuleType("httpx._main", "httpx's CLI, not loaded by torchpin")
        cli.main = main  # type: ignore[attr-defined]
        sys.modules["httpx._main"] = cli


_skip_httpx_cli()
import httpx  # noqa: E402 - after the stand-in for its CLI

T = TypeVar("T")
# The transport errors callers catch, without importing httpx themselves.
HTTPError = httpx.HTTPError
ConnectError = httpx.ConnectError
TimeoutException = httpx.TimeoutException
AsyncClient = httpx.AsyncClient
Response = httpx.Response
Transport = httpx.AsyncBaseTransport
ResetErrors = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
TransportErrors = (httpx.TransportError, httpx.InvalidURL)
REDIRECTS = (301, 302, 303, 307, 308)
# httpx parses a Location header even when told not to follow it, and raises on a hostile one
# before torchpin could check it; a response hook moves it here so open_url alone decides.
HELD_LOCATION = "x-torchpin-location"


async def read_body(response: httpx.Response, max_bytes: int) -> bytes | None:
    """A streamed body, or None once it grows past ``max_bytes`` (counted after decompression)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)


def ssl_context(policy: NetPolicy) -> ssl.SSLContext:
    cafile, source = policy.ca_bundle()
    try:
        return _context(cafile, policy.environ.get("SSL_CERT_FILE"), policy.environ.get("SSL_CERT_DIR"))
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"cannot load the CA bundle {cafile} (from {source}): {e}", hint=f"fix {source}") from None


@functools.lru_cache(maxsize=8)
def _context(cafile: str | None, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One context per CA choice for the whole command: loading the roots costs 20-35 ms, and a
    command reads in rounds (pages, sidecars, hashes), each with a client of its own. Without a
    file it is httpx's own: certifi, or SSL_CERT_FILE / SSL_CERT_DIR (the key's other parts)."""
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    return httpx.create_ssl_context(verify=True, trust_env=True)


def client(policy: NetPolicy, *, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The only HTTP client constructor in torchpin: redirects off (``open_url`` follows them)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(policy.timeout, connect=min(policy.timeout, 10.0)),
        verify=ssl_context(policy),
        transport=transport,
        follow_redirects=False,
        trust_env=True,  # HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE as every HTTP tool reads them
        limits=httpx.Limits(max_connections=32),
        headers={"User-Agent": "torchpin"},
        event_hooks={"response": [_hold_location]},
    )


async def _hold_location(response: httpx.Response) -> None:
    if "location" in response.headers:
        response.headers[HELD_LOCATION] = response.headers.pop("location")


@asynccontextmanager
async def open_url(
    http: httpx.AsyncClient,
    policy: NetPolicy,
    url: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
) -> AsyncIterator[tuple[httpx.Response, str]]:
    """GET (or HEAD) ``url``, following redirects hop by hop; yields (final response, final URL), streaming."""
    current = url
    for _hop in range(policy.max_redirects + 1):
        policy.check(current, via=url)
        request_headers = dict(headers or {})
        auth = policy.authorization(current)
        if auth:
            request_headers["Authorization"] = auth
        response = await http.send(http.build_request(method, current, headers=request_headers), stream=True)
        location = response.headers.get(HELD_LOCATION)
        if response.status_code in REDIRECTS and location:
            await response.aclose()
            # A Location's userinfo is the server's idea, never a credential torchpin sends.
            try:
                current = split_credentials(urljoin(current, location.strip()))[0]
            except ValueError:  # 'http://[::1' and friends
                raise IndexUnavailable(f"{mask(url)}: redirected to an invalid URL {mask(location)[:100]!r}") from None
            continue
        try:
            yield response, current
        finally:
            await response.aclose()
        return
    raise IndexUnavailable(f"{mask(url)}: more than {policy.max_redirects} redirects (a redirect loop?)")


def fetch_bytes(policy: NetPolicy, url: str, *, max_bytes: int = 64 << 20, deadline: float = 120.0) -> bytes:
    """One whole GET under the policy (a one-off read, e.g. the refresh script's PyPI JSON)."""

    async def get() -> bytes:
        async with client(policy) as http, open_url(http, policy, url) as (response, _):
            if response.status_code != 200:
                raise IndexUnavailable(f"{mask(url)}: HTTP {response.status_code}")
            body = await read_body(response, max_bytes)
            if body is None:
                raise IndexUnavailable(f"{mask(url)}: larger than {max_bytes >> 20} MiB")
            return body

    try:
        return run_within(deadline, get(), mask(url))
    except httpx.HTTPError as e:
        raise IndexUnavailable(f"{mask(url)}: {describe(e)}") from None


def run_within(seconds: float, work: Coroutine[Any, Any, T], what: str) -> T:
    """Run ``work`` on a new event loop under ``within``'s deadline. SIGTERM cancels it: its
    clients close, then ``Interrupted`` is raised. (Python's handler raising inside the loop could
    land in a transport's write, which asyncio turns into a failed connection, not an exit.)"""

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        got: list[int] = []
        before = signal.getsignal(signal.SIGTERM)

        def stop() -> None:
            got.append(signal.SIGTERM)
            if task is not None:
                task.cancel()

        try:
            loop.add_signal_handler(signal.SIGTERM, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            before = None
        try:
            return await within(seconds, work, what)
        except asyncio.CancelledError:
            if got:
                raise Interrupted(got[0]) from None
            raise
        finally:
            if before is not None:
                loop.remove_signal_handler(signal.SIGTERM)
                signal.signal(signal.SIGTERM, before)  # asyncio leaves SIG_DFL; the CLI's own handler again

    return asyncio.run(main())


async def within(seconds: float, work: Awaitable[T], what: str) -> T:
    """A whole-operation deadline: a server that drips bytes can't keep torchpin waiting forever."""
    try:
        return await asyncio.wait_for(work, timeout=seconds)
    except asyncio.TimeoutError:
        raise DeadlineExceeded(f"{what}: not done within {seconds:g} s", hint="raise --deadline") from None


def describe(e: BaseException) -> str:
    """One short line for a transport error; certificate problems are named as such."""
    cause: BaseException | None = e
    while cause is not None:  # httpx wraps the OS's error: the cause says what really happened
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {cause.verify_message}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    text = str(e) or type(e).__name__
    low = text.lower()
    if "certificate" in low or "hostname mismatch" in low:
        return "TLS: " + text.splitlines()[0][:160]
    if any(s in low for s in ("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution")):
        return "cannot resolve the host name"
    if "refused" in low:
        return "connection refused"
    return mask(text.splitlines()[0][:160])


def is_tls_failure(e: BaseException) -> bool:
    return describe(e).startswith(("certificate verify failed", "TLS: "))
