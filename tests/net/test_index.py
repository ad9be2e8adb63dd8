"""The index client against a real local server with faults injected; and its safety rules."""

from __future__ import annotations

import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import run as run_cli
from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
from tests.support.newest import AUDIO, VISION
from tests.support.newest import TORCH as NEWEST
from torchpin.errors import IndexUnavailable, UsageError
from torchpin.net.index import IndexClient, IndexConfig
from torchpin.net.urls import check_scheme, mask, strip_credentials

CPU_TRIO = ["--no-detect", "--backend", "cpu", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]


@pytest.fixture(scope="module")
def fake_index() -> FakePytorchIndex:
    return FakePytorchIndex()  # building the page lists once is the slow part


@pytest.fixture
def server(fake_index: FakePytorchIndex) -> Iterator[FakeIndexServer]:
    fake_index.knobs = Knobs()
    with FakeIndexServer(fake_index) as srv:
        yield srv


def lock(srv: FakeIndexServer, tmp: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("lock", *CPU_TRIO, "--index-url", srv.base, *args, home=tmp, extra=extra)


GOOD = f"torch=={NEWEST}+cpu\ntorchvision=={VISION}+cpu\ntorchaudio=={AUDIO}+cpu\n"


@pytest.mark.parametrize(
    "knobs",
    [
        Knobs(fail_first=2),  # a 5xx burst shorter than the retries
        Knobs(reset_first=2),  # connections reset without an answer
        Knobs(truncate_first=1),  # a body cut off mid-page
        Knobs(latency_s=0.3),  # slow but inside the timeout
    ],
    ids=["5xx-burst", "resets", "truncated", "latency"],
)
def test_faults_heal_into_a_correct_live_lock(server: FakeIndexServer, tmp_path: Path, knobs: Knobs) -> None:
    server.index.knobs = knobs
    r = lock(server, tmp_path, "--no-fallback")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(GOOD) and "# source: live index" in r.stdout
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("knobs", "args", "fragment"),
    [
        (Knobs(fail_first=99), [], "HTTP 503 (4 tries)"),
        (Knobs(reset_first=99), [], "the connection was reset or closed early (4 tries)"),
        (Knobs(latency_s=3), ["--timeout", "0.3"], "no answer within 0.3 s (4 tries)"),
        (Knobs(malformed={"/whl/cpu/torch/"}), [], "/whl/cpu/torch/: page is not UTF-8 text"),
    ],
    ids=["5xx-forever", "resets-forever", "timeouts", "malformed"],
)
def test_faults_that_persist_exit_4_in_one_line(
    server: FakeIndexServer, tmp_path: Path, knobs: Knobs, args: list[str], fragment: str
) -> None:
    server.index.knobs = knobs
    start = time.monotonic()
    r = lock(server, tmp_path, "--no-fallback", *args)
    assert r.returncode == 4, r.stderr
    assert r.stdout == ""  # never a partial lock
    assert fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "drop --no-fallback" in r.stderr or "check --index-url" in r.stderr  # the way out is named
    assert time.monotonic() - start < 20  # bounded by timeouts x tries, never a hang


def test_fallback_to_the_snapshot_says_so(server: FakeIndexServer, tmp_path: Path) -> None:
    server.index.knobs = Knobs(fail_first=99)
    r = lock(server, tmp_path)
    assert r.returncode == 0
    assert "locking from the embedded snapshot" in r.stderr
    assert "# source: embedded snapshot" in r.stdout and r.stdout.endswith(GOOD)
    assert f"--find-links {server.base}/cpu/torch/" in r.stdout  # still the mirror's URLs


def test_only_the_needed_pages_are_fetched(server: FakeIndexServer, tmp_path: Path) -> None:
    assert lock(server, tmp_path).returncode == 0
    assert set(server.main.hits) == {"/whl/cpu/torch/", "/whl/cpu/torchvision/", "/whl/cpu/torchaudio/"}


def test_warm_lock_within_max_age_sends_no_request(server: FakeIndexServer, tmp_path: Path) -> None:
    first = lock(server, tmp_path)
    assert first.returncode == 0
    hits = sum(server.hits().values())
    again = lock(server, tmp_path)  # the index said max-age=600: the copies are fresh
    assert again.returncode == 0 and again.stdout == first.stdout
    assert sum(server.hits().values()) == hits
    assert lock(server, tmp_path, "--refresh").returncode == 0
    assert sum(server.main.full.values()) == 6  # --refresh ignores the cache


@pytest.mark.parametrize(
    ("cache_control", "env"),
    [("no-cache,no-store,must-revalidate", {}), ("", {"TORCHPIN_CACHE_MAX_AGE": "0"})],
    ids=["index-says-no-cache", "max-age-0"],
)
def test_stale_copies_are_revalidated_without_downloading(
    server: FakeIndexServer, tmp_path: Path, cache_control: str, env: dict[str, str]
) -> None:
    server.index.knobs = Knobs(cache_control=cache_control)
    assert lock(server, tmp_path, **env).returncode == 0
    full_before = sum(server.main.full.values())
    assert lock(server, tmp_path, **env).returncode == 0
    assert sum(server.main.full.values()) == full_before  # no page body sent again
    assert sum(server.main.not_modified.values()) == 3


def test_a_missing_page_is_remembered_too(fake_index: FakePytorchIndex, tmp_path: Path) -> None:
    with FakeIndexServer(fake_index) as srv:
        args = ["torch", "--backend", "cu134"]  # cu134 is not published: 403
        assert lock(srv, tmp_path, *args, "--no-fallback").returncode == 4
        hits = sum(srv.hits().values())
        assert lock(srv, tmp_path, *args, "--no-fallback").returncode == 4
        assert sum(srv.hits().values()) == hits  # the 403 and the root page listing the variants, both remembered


def test_a_bad_max_age_setting_is_exit_2(server: FakeIndexServer, tmp_path: Path) -> None:
    r = lock(server, tmp_path, TORCHPIN_CACHE_MAX_AGE="soon")
    assert r.returncode == 2 and "TORCHPIN_CACHE_MAX_AGE='soon'" in r.stderr


def test_json_from_live_pages_carries_served_hashes(server: FakeIndexServer, tmp_path: Path) -> None:
    import json

    r = lock(server, tmp_path, "--format", "json", "torch")
    doc = json.loads(r.stdout)
    assert doc["source"] == "live"
    (pkg,) = doc["packages"]
    assert pkg["filename"] == f"torch-{NEWEST}+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert pkg["url"] == f"{server.cdn_url}/whl/cpu/torch-{NEWEST}%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert pkg["sha256"] == server.index.sha256(pkg["filename"])


def test_mirror_without_the_variant_lists_what_it_has(fake_index: FakePytorchIndex, tmp_path: Path) -> None:
    fake_index.knobs = Knobs(missing_variants={"cu128", "cu134"})
    fake_index.__dict__.pop("files", None)  # rebuild the page lists without cu128
    try:
        with FakeIndexServer(fake_index) as srv:
            args = ["--driver", "570.86.15", "--gpu-cc", "12.0", "--backend", "auto", "--no-fallback"]
            r = lock(srv, tmp_path, *args)
    finally:
        fake_index.knobs = Knobs()
        fake_index.__dict__.pop("files", None)
    assert r.returncode == 4 and r.stdout == ""
    assert "has no cu128 pages (it lists: cpu, cu116, cu117, cu118" in r.stderr


def test_flat_find_links_mirror(server: FakeIndexServer, tmp_path: Path) -> None:
    r = lock(server, tmp_path, "--find-links", f"{server.url}/flat", "--no-fallback")
    assert r.returncode == 0, r.stderr
    assert f"--find-links {server.url}/flat/cpu/\n" in r.stdout and r.stdout.endswith(GOOD)
    assert set(server.main.hits) == {"/flat/cpu/"}  # one flat page holds all three projects


def test_https_with_a_throwaway_ca(fake_index: FakePytorchIndex, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme makes the throw-away CA (dev extra)")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    fake_index.knobs = Knobs()
    with FakeIndexServer(fake_index, tls=server_ctx) as srv:
        assert srv.base.startswith("https://")
        ok = lock(srv, tmp_path, "--cert", str(ca_file), "--no-fallback")
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.endswith(GOOD)
        untrusted = lock(srv, tmp_path, "--no-fallback", "--refresh")
        assert untrusted.returncode == 4 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr.upper().replace(" ", "_")


def test_credentials_are_masked_and_never_written(server: FakeIndexServer, tmp_path: Path) -> None:
    server.index.knobs = Knobs(fail_first=99)
    secret_base = server.base.replace("http://", "http://alice:s3cret@")
    r = lock(server, tmp_path, "--index-url", secret_base, "--no-fallback")
    assert r.returncode == 4 and "s3cret" not in r.stderr and "alice" not in r.stderr and server.base in r.stderr
    server.index.knobs = Knobs()
    ok = lock(server, tmp_path, "--index-url", secret_base)
    assert ok.returncode == 0 and "s3cret" not in ok.stdout + ok.stderr
    assert f"--find-links {server.base}/cpu/torch/" in ok.stdout
    assert "credentials are not written into the lock" in ok.stderr


def test_dns_failure_is_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    client = IndexClient(IndexConfig(), transport=httpx.MockTransport(handler))
    with pytest.raises(IndexUnavailable, match="cannot resolve the host name \\(1 try\\)"):
        client.fetch(["https://download.pytorch.org/whl/cpu/torch/"])
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("url", "trusted", "ok"),
    [
        ("https://download.pytorch.org/whl", (), True),
        ("http://127.0.0.1:8000/whl", (), True),  # loopback is always allowed
        ("http://localhost/whl", (), True),
        ("http://[::1]:9/whl", (), True),
        ("http://mirror.corp/whl", (), False),
        ("http://mirror.corp/whl", ("mirror.corp",), True),
        ("ftp://mirror.corp/whl", ("mirror.corp",), False),
    ],
)
def test_check_scheme(url: str, trusted: tuple[str, ...], ok: bool) -> None:
    if ok:
        check_scheme(url, trusted)
    else:
        with pytest.raises(UsageError):
            check_scheme(url, trusted)


def test_mask_and_strip() -> None:
    assert mask("https://u:pw@host:8443/whl") == "https://****@host:8443/whl"
    assert mask("https://ghp_TOKEN@host/whl") == "https://****@host/whl"  # a token as user name is secret
    assert mask("https://host/whl") == "https://host/whl"
    assert strip_credentials("https://u:pw@host/whl") == "https://host/whl"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("public", None),
        ("max-age=600, public, must-revalidate", 600.0),
        ("no-cache,no-store,must-revalidate", 0.0),
        ("max-age=oops", 0.0),
        ("private, max-age=-5", 0.0),
    ],
)
def test_cache_control_max_age(header: str | None, seconds: float | None) -> None:
    from torchpin.net.pagecache import max_age

    assert max_age(header) == seconds


@pytest.mark.parametrize(
    ("age", "server", "limit", "fresh"),
    [
        (10, 600.0, 300.0, True),
        (400, 600.0, 300.0, False),
        (10, 0.0, 300.0, False),
        (10, None, 300.0, True),
        (10, None, 0.0, False),
        (-60, None, 300.0, False),
        (100, 60.0, 300.0, False),
    ],
    ids=[
        "young",
        "past-the-users-limit",
        "no-cache",
        "server-silent",
        "user-says-0",
        "clock-set-back",
        "past-the-servers-max-age",
    ],
)
def test_freshness(age: float, server: float | None, limit: float, fresh: bool) -> None:
    from torchpin.net.pagecache import fresh as is_fresh

    assert is_fresh({"fetched": 1000.0, "max_age": server}, limit, now=1000.0 + age) is fresh
    assert not is_fresh({"max_age": server}, limit, now=1000.0)  # an entry from before freshness was kept


def test_a_client_that_never_says_hello_does_not_hold_up_the_next(fake_index: FakePytorchIndex, tmp_path: Path) -> None:
    """The fake index (and the lab built on it) shakes hands per connection, as a real server
    does: a handshake in accept() made every connection wait for the one before (issue 17, item 11)."""
    import socket
    import urllib.request

    trustme = pytest.importorskip("trustme", reason="trustme makes the throw-away CA (dev extra)")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    fake_index.knobs = Knobs()
    with FakeIndexServer(fake_index, tls=server_ctx) as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        # The first client connects and never sends a ClientHello; the second must still be answered.
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5),
            urllib.request.urlopen(f"{srv.base}/cpu/torch/", context=client_ctx, timeout=5) as r,
        ):
            assert r.status == 200 and b"torch-" in r.read()
