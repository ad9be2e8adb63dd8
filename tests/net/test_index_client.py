"""The index client at the transport: httpx.MockTransport answers, no server needed.

What the real server adds (sockets, TLS, the proxy, the CLI around it) stays in test_index.py
and tests/reliability; here each rule of the client is one table row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from torchpin.errors import IndexFormatError, IndexUnavailable
from torchpin.net import NetPolicy, PolicyRefused
from torchpin.net.index import IndexClient, IndexConfig

BASE = "https://download.pytorch.org/whl"
PAGE = f"{BASE}/cpu/torch/"
SHA = "a" * 64
WHEEL = "torch-2.15.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"
HTML = f'<html><body><a href="/whl/cpu/{WHEEL.replace("+", "%2B")}#sha256={SHA}">{WHEEL}</a></body></html>'


def client(
    handler: Callable[[httpx.Request], httpx.Response], tmp: Path | None = None, **config: object
) -> IndexClient:
    settings: dict[str, object] = {"backoff": 0.0, "cache_dir": tmp, **config}
    return IndexClient(IndexConfig(**settings), transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def ok(body: str = HTML, **headers: str) -> httpx.Response:
    return httpx.Response(200, text=body, headers={"content-type": "text/html", **headers})


def test_a_page_is_read_into_links() -> None:
    links = client(lambda r: ok()).fetch([PAGE])[PAGE].links
    assert links is not None and [(link.filename, link.sha256) for link in links] == [(WHEEL, SHA)]
    assert links[0].url == f"https://download.pytorch.org/whl/cpu/{WHEEL.replace('+', '%2B')}"


@pytest.mark.parametrize("status", [403, 404])
def test_a_missing_page_is_not_there_not_an_error(status: int) -> None:
    assert client(lambda r: httpx.Response(status)).fetch([PAGE])[PAGE].links is None  # S3's 403 too


def test_5xx_is_retried_until_it_heals() -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), ok()])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return next(answers)

    assert client(handler).fetch([PAGE])[PAGE].links
    assert seen == [PAGE] * 3


def test_5xx_that_persists_says_how_often_it_was_tried() -> None:
    with pytest.raises(IndexUnavailable, match=r"HTTP 500 \(4 tries\)"):
        client(lambda r: httpx.Response(500)).fetch([PAGE])


@pytest.mark.parametrize(("status", "fragment"), [(401, "the index wants credentials"), (407, "the proxy wants")])
def test_credentials_wanted_is_said_once_not_retried(status: int, fragment: str) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status)

    with pytest.raises(IndexUnavailable, match=fragment):
        client(handler).fetch([PAGE])
    assert calls == [1]


def test_a_page_over_the_cap_is_refused() -> None:
    with pytest.raises(IndexFormatError, match="larger than"):
        client(lambda r: ok(HTML * 100), max_bytes=1000, retries=0).fetch([PAGE])


def test_a_redirect_off_the_policy_is_refused_before_it_is_requested() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "http://elsewhere.example/whl/cpu/torch/"})

    with pytest.raises(PolicyRefused, match=r"plain http to elsewhere\.example"):
        client(handler).fetch([PAGE])
    assert seen == [PAGE]  # the plain-http hop was never asked for


def test_credentials_go_to_their_origin_only() -> None:
    from torchpin.net import split_credentials

    bare, cred = split_credentials("https://alice:s3cret@download.pytorch.org/whl")
    assert cred is not None
    auth: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        auth[request.url.host] = request.headers.get("authorization")
        if request.url.host == "download.pytorch.org":
            return httpx.Response(302, headers={"location": "https://cdn.example/whl/cpu/torch/"})
        return ok()

    policy = NetPolicy(credentials=(cred,), netrc=False)
    assert client(handler, policy=policy).fetch([f"{bare}/cpu/torch/"])
    assert auth["download.pytorch.org"] is not None and auth["cdn.example"] is None


def test_links_the_policy_refuses_are_dropped_with_a_note() -> None:
    link = f'<a href="http://other.example/{WHEEL}#sha256={SHA}">{WHEEL}</a>'
    ix = client(lambda r: ok(HTML.replace("</body>", link + "</body>")))
    links = ix.fetch([PAGE])[PAGE].links
    assert links is not None and [link.url.split("/")[2] for link in links] == ["download.pytorch.org"]
    assert len(ix.notes) == 1 and "plain http to other.example" in ix.notes[0]


def test_a_fresh_cached_page_sends_no_request(tmp_path: Path) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return ok(**{"cache-control": "max-age=600", "etag": '"v1"'})

    assert client(handler, tmp_path).fetch([PAGE])[PAGE].links
    again = client(handler, tmp_path).fetch([PAGE])[PAGE]
    assert again.cached and again.links and calls == [1]


def test_a_stale_copy_is_revalidated_and_a_304_reuses_it(tmp_path: Path) -> None:
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("if-none-match"))
        return ok(etag='"v1"') if len(sent) == 1 else httpx.Response(304)

    assert client(handler, tmp_path, max_age=0.0).fetch([PAGE])[PAGE].links
    again = client(handler, tmp_path, max_age=0.0).fetch([PAGE])[PAGE]
    assert sent == [None, '"v1"'] and again.cached and again.links


def test_a_transport_that_resets_is_retried_then_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(IndexUnavailable, match="reset or closed early"):
        client(handler, retries=1).fetch([PAGE])


def test_sidecars_are_fetched_at_once_and_a_missing_one_is_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("a.whl.metadata"):
            return httpx.Response(200, content=b"Requires-Dist: torch>=2.14\n")
        return httpx.Response(404)

    got = client(handler).fetch_files([f"{BASE}/a.whl.metadata", f"{BASE}/b.whl.metadata"])
    assert got == {f"{BASE}/a.whl.metadata": b"Requires-Dist: torch>=2.14\n", f"{BASE}/b.whl.metadata": None}
