"""A hostile index: redirects, schemes, hosts, names, sizes, bombs, drip, deep JSON, many links, wrong types.

Each case locks torch for a CPU target against ``Hostile`` and checks the contract: a correct
lock from what can be trusted, or the documented exit code in one line, in bounded time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.fake_index import FakePytorchIndex
from tests.support.newest import TORCH as NEWEST

from .conftest import CPU_TORCH, WANT, Run, cpu_torch_links, fails, isolated_env, torchpin
from .hostile import Hostile, drip, gzip_bomb, html, page, raw, redirect, send, silent

LIAR = "torch-2.99.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"
REAL = "torch-2.14.1+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"
PATH = "/whl/cpu/torch/"


def lock(h: Hostile, home: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    return torchpin(
        home,
        "lock",
        "torch",
        *CPU_TORCH,
        "--index-url",
        f"{h.url}/whl",
        "--no-fallback",
        "--timeout",
        "1",
        "--deadline",
        "8",
        *args,
        env=env,
    )


def good_page(h: Hostile, fake: FakePytorchIndex, extra: Sequence[str] = ()) -> str:
    return page([*cpu_torch_links(fake, h.url), *extra])


def proxied_to(h: Hostile, host: str) -> list[str]:
    return [s.target for s in h.seen if s.target.startswith(("http://", "https://")) and host in s.target]


def test_the_real_page_locks(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    hostile.routes[PATH] = html(good_page(hostile, fake))
    r = lock(hostile, tmp_path)
    assert r.code == 0, r.stderr
    assert r.stdout.endswith(WANT + "\n")


# ---- redirects: every hop meets the policy


def test_redirect_loop_is_exit_4(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = redirect(PATH)
    fails(lock(hostile, tmp_path), 4, "more than 10 redirects")


def test_a_long_but_finite_chain_is_followed(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    for i in range(5):
        hostile.routes[f"/hop{i}/"] = redirect(f"/hop{i + 1}/", 301 if i % 2 else 307)
    hostile.routes[PATH] = redirect("/hop0/")
    hostile.routes["/hop5/"] = html(good_page(hostile, fake))
    r = lock(hostile, tmp_path)
    assert r.code == 0 and r.stdout.endswith(WANT + "\n"), r.stderr


@pytest.mark.parametrize(
    ("location", "fragment"),
    [
        ("http://files.example/whl/cpu/torch/", "plain http to files.example"),
        ("http://10.1.2.3/whl/cpu/torch/", "plain http to 10.1.2.3"),
        ("file:///etc/passwd", "file URLs are never fetched"),
        ("javascript:alert(1)", "javascript URLs are never fetched"),
        ("data:text/html,<a href=x>x</a>", "data URLs are never fetched"),
        ("ftp://files.example/torch/", "ftp URLs are never fetched"),
        ("gopher://files.example/", "gopher URLs are never fetched"),
    ],
    ids=["http-other-host", "http-private-ip", "file", "javascript", "data", "ftp", "gopher"],
)
def test_a_redirect_the_policy_forbids_is_refused_before_any_request(
    hostile: Hostile, tmp_path: Path, location: str, fragment: str
) -> None:
    hostile.routes[PATH] = redirect(location)
    # Any request for another host would reach this proxy: it must see none.
    r = lock(hostile, tmp_path, env=isolated_env(tmp_path, HTTP_PROXY=hostile.url, HTTPS_PROXY=hostile.url))
    fails(r, 4, fragment, "refused")
    assert proxied_to(hostile, "files.example") == [] and proxied_to(hostile, "10.1.2.3") == []


def test_a_trusted_host_may_be_reached_over_http_through_a_proxy(
    hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path
) -> None:
    # --trusted-host is the user's word: the hop to files.example (via the loopback proxy) is allowed.
    hostile.routes[PATH] = redirect("http://files.example/whl/cpu/torch/")
    hostile.routes["http://files.example/whl/cpu/torch/"] = html(good_page(hostile, fake))
    env = isolated_env(tmp_path, HTTP_PROXY=hostile.url)
    r = lock(hostile, tmp_path, "--trusted-host", "files.example", env=env)
    assert r.code == 0 and r.stdout.endswith(WANT + "\n"), r.stderr
    assert proxied_to(hostile, "files.example") == ["http://files.example/whl/cpu/torch/"]


def test_a_redirect_to_an_unreachable_port_is_exit_4(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = redirect("http://127.0.0.1:1/whl/cpu/torch/")
    fails(lock(hostile, tmp_path), 4, "connection refused")


def test_a_malformed_location_is_exit_4(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = redirect("http://[::1/whl/")
    fails(lock(hostile, tmp_path), 4)


def test_a_redirect_without_location_is_exit_4(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = lambda h: send(h, 302, b"", "text/plain")
    fails(lock(hostile, tmp_path), 4, "HTTP 302")


# ---- links: scheme, host, and the name is the URL's


@pytest.mark.parametrize(
    "bad",
    [
        '<a href="javascript:alert(1)">' + LIAR + "</a>",
        '<a href="file:///etc/passwd">' + LIAR + "</a>",
        '<a href="data:application/zip;base64,UEsFBg==">' + LIAR + "</a>",
        '<a href="http://files.example/whl/' + LIAR.replace("+", "%2B") + '">' + LIAR + "</a>",
        '<a href="/whl/cpu/' + REAL.replace("+", "%2B") + '">' + LIAR + "</a>",  # text lies about the file
        '<a href="/whl/cpu/..%2F..%2F' + LIAR.replace("+", "%2B") + '">..%2F' + LIAR + "</a>",
        '<a href="/whl/cpu/%2E%2E">..</a>',
        '<a href="/whl/cpu/torch-2.99.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl%00.txt">x</a>',
        '<a href="/whl/cpu/torch-2.99.0%2Bcpu.whl">torch-2.99.0+cpu.whl</a>',  # not a wheel name
        '<a href="/whl/cpu/torch-2.99.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl%5Cevil">x</a>',
    ],
    ids=[
        "javascript",
        "file",
        "data",
        "http-other-host",
        "text-lies",
        "slash-in-name",
        "dotdot",
        "nul",
        "bad-wheel-name",
        "backslash",
    ],
)
def test_an_untrustworthy_link_is_dropped_with_a_note(
    hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path, bad: str
) -> None:
    hostile.routes[PATH] = html(good_page(hostile, fake, [bad]))
    env = isolated_env(tmp_path, HTTP_PROXY=hostile.url)
    r = lock(hostile, tmp_path, "--format", "json", env=env)
    assert r.code == 0, r.stderr
    (pkg,) = json.loads(r.stdout)["packages"]
    assert pkg["version"] == f"{NEWEST}+cpu" and "2.99" not in r.stdout
    assert "/" not in pkg["filename"] and pkg["url"].startswith(hostile.url)
    assert "ignored 1 link(s)" in r.stderr
    assert proxied_to(hostile, "files.example") == []


def test_a_page_of_only_lies_locks_nothing_from_it(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = html(page([f'<a href="/whl/cpu/{REAL.replace("+", "%2B")}">{LIAR}</a>']))
    r = lock(hostile, tmp_path)
    fails(r, 3)  # the page is the truth for cpu, and it lists no trustworthy torch file
    assert "torch 2.99" not in r.stderr  # the lie is never a candidate
    assert "the index offered files torchpin refused" in r.stderr  # the refusal that decided it is said


def test_userinfo_in_a_link_is_never_used(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    links = [
        a.replace(hostile.url, hostile.url.replace("://", "://mallory:pw@")) for a in cpu_torch_links(fake, hostile.url)
    ]
    hostile.routes[PATH] = html(page(links))
    r = lock(hostile, tmp_path, "--format", "json")
    assert r.code == 0, r.stderr
    assert "mallory" not in r.stdout and json.loads(r.stdout)["packages"][0]["url"].startswith(hostile.url)


# ---- sizes, bombs, time


def test_a_page_over_the_size_cap_is_exit_4(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = raw(b"<html><body>" + b" " * (33 * 1024 * 1024) + b"</body></html>")
    fails(lock(hostile, tmp_path), 4, "larger than 32 MiB")


def test_a_gzip_bomb_is_capped_after_decoding(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = gzip_bomb(64 * 1024 * 1024)
    fails(lock(hostile, tmp_path), 4, "larger than 32 MiB")


def test_a_dripping_server_meets_the_deadline(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    hostile.routes[PATH] = drip(good_page(hostile, fake).encode(), every=0.2)
    start = time.monotonic()
    r = torchpin(
        tmp_path,
        "lock",
        "torch",
        *CPU_TORCH,
        "--index-url",
        f"{hostile.url}/whl",
        "--no-fallback",
        "--timeout",
        "1",
        "--deadline",
        "3",
    )
    fails(r, 4, "not done within 3 s")
    assert time.monotonic() - start < 15  # every byte arrived within --timeout; the deadline still held


def test_a_silent_index_is_named_while_torchpin_waits(hostile: Hostile, tmp_path: Path) -> None:
    """It accepts and never answers: after a few seconds the user hears what torchpin waits for
    and for how long, before the one-line failure (issue 16, item 15)."""
    hostile.routes[PATH] = silent()
    r = lock(hostile, tmp_path, "--timeout", "3", "--deadline", "6")
    assert r.code == 4 and r.stdout == "", r.stderr
    waiting, error = r.lines[:-1], r.lines[-1]
    assert len(waiting) == 1, r.stderr
    assert waiting[0].startswith("torchpin: waiting for 127.0.0.1: 1 of 1 page(s) unanswered after 4 s"), r.stderr
    assert "gives up after 3 s, all of it after 6 s; --offline decides from the snapshot" in waiting[0]
    assert "not done within 6 s" in error


def test_an_index_that_answers_in_time_says_nothing_of_waiting(
    hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path
) -> None:
    hostile.routes[PATH] = html(good_page(hostile, fake))
    r = lock(hostile, tmp_path)
    assert r.code == 0 and "waiting" not in r.stderr, r.stderr


def test_a_dripping_server_falls_back_to_the_snapshot(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    hostile.routes[PATH] = drip(good_page(hostile, fake).encode(), every=0.2)
    r = torchpin(
        tmp_path, "lock", "torch", *CPU_TORCH, "--index-url", f"{hostile.url}/whl", "--timeout", "1", "--deadline", "2"
    )
    assert r.code == 0 and "locking from the embedded snapshot" in r.stderr, r.stderr
    assert "# source: embedded snapshot" in r.stdout


def test_many_links_are_read_in_bounded_time(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    # 60 000 made-up releases: merging must stay linear (it was quadratic) and add only a few.
    fakes = [
        f'<a href="/whl/cpu/torch-3.{i // 1000}.{i % 1000}%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl">'
        f"torch-3.{i // 1000}.{i % 1000}+cpu-cp312-cp312-manylinux_2_28_x86_64.whl</a>"
        for i in range(60_000)
    ]
    hostile.routes[PATH] = html(good_page(hostile, fake, fakes))
    start = time.monotonic()
    r = lock(hostile, tmp_path, "--deadline", "60")
    assert r.code == 0, r.stderr
    assert time.monotonic() - start < 60
    assert "torch==3.59.999+cpu" in r.stdout  # the newest index-only release, as for a real new release


@pytest.mark.parametrize(
    ("body", "ctype", "fragment"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "application/vnd.pypi.simple.v1+json", "not valid JSON"),
        (b'{"files": {"a": 1}}', "application/vnd.pypi.simple.v1+json", "no 'files' list"),
        (b'{"files": [{"url": 5}]}', "application/vnd.pypi.simple.v1+json", "has no 'url'"),
        (b'{"files": [7]}', "application/vnd.pypi.simple.v1+json", "has no 'url'"),
        (b"<html><body>not json</body></html>", "application/vnd.pypi.simple.v1+json", "not valid JSON"),
        (b"\xff\xfe<html>\x00</html>", "text/html", "not UTF-8"),
        (b"<html><body><a href='x.whl'>", "text/html", "cut off (4 tries)"),
        (b"<html>" + b"<div>" * 100_000 + b"</html>", "text/html", None),  # deep HTML: no link, no crash
    ],
    ids=[
        "json-bomb",
        "files-not-list",
        "url-not-str",
        "entry-not-dict",
        "html-as-json",
        "not-utf8",
        "truncated",
        "deep-html",
    ],
)
def test_a_malformed_page_is_exit_4_in_one_line(
    hostile: Hostile, tmp_path: Path, body: bytes, ctype: str, fragment: str | None
) -> None:
    hostile.routes[PATH] = raw(body, ctype)
    r = lock(hostile, tmp_path)
    if fragment is None:
        fails(r, 3)  # read fine, lists nothing: no compatible build
    else:
        fails(r, 4, fragment)


def test_json_entries_with_wrong_types_are_tolerated(hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path) -> None:
    name = f"torch-{NEWEST}+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"
    files = [
        {
            "url": f"{hostile.url}/whl/cpu/{name.replace('+', '%2B')}",
            "filename": name,
            "hashes": [1, 2],
            "yanked": False,
            "requires-python": 5,
            "core-metadata": "yes",
            "upload-time": [],
        },
        {"url": "/whl/cpu/x.whl", "filename": 12},
    ]
    hostile.routes[PATH] = raw(json.dumps({"files": files}).encode(), "application/vnd.pypi.simple.v1+json")
    r = lock(hostile, tmp_path)
    assert r.code == 0, r.stderr  # odd field types are ignored; the file itself is sound
    assert r.stdout.endswith(WANT + "\n")


@pytest.mark.parametrize(
    ("status", "fragment"),
    [
        (401, "wants credentials"),
        (407, "proxy wants credentials"),
        (418, "HTTP 418"),
        (500, "HTTP 500 (4 tries)"),
        (429, "HTTP 429 (4 tries)"),
        (304, "HTTP 304"),
    ],
)
def test_unexpected_statuses_are_exit_4(hostile: Hostile, tmp_path: Path, status: int, fragment: str) -> None:
    hostile.routes[PATH] = lambda h: send(h, status, b"", "text/plain")
    fails(lock(hostile, tmp_path), 4, fragment)


def test_an_oversized_header_is_exit_4(hostile: Hostile, tmp_path: Path) -> None:
    hostile.routes[PATH] = lambda h: send(h, 200, b"<html></html>", "text/html", {"X-Junk": "a" * 200_000})
    fails(lock(hostile, tmp_path), 4)
