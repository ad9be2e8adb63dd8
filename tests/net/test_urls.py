"""URL rules (pure): the scheme/host policy, origins, credential splitting and masking."""

from __future__ import annotations

import pytest

from torchpin.net.urls import Origin, allowed, origin, scrub, split_credentials, with_credential


@pytest.mark.parametrize(
    ("url", "trusted", "why"),
    [
        ("https://download.pytorch.org/whl/cpu/torch/", (), None),
        ("HTTPS://Mirror.Example/whl", (), None),  # schemes and hosts are case-insensitive
        ("http://127.0.0.1:8000/whl", (), None),
        ("http://127.8.9.10/whl", (), None),  # all of 127/8 is loopback
        ("http://[::1]:9/whl", (), None),
        ("http://localhost/whl", (), None),
        ("http://mirror.corp/whl", ("mirror.corp",), None),
        ("http://MIRROR.corp/whl", ("mirror.CORP",), None),
        ("http://mirror.corp/whl", (), "plain http to mirror.corp"),
        ("http://10.0.0.1/whl", (), "plain http to 10.0.0.1"),  # private is not loopback
        ("http://localhost.evil.example/", (), "plain http to localhost.evil.example"),
        ("ftp://mirror.corp/whl", ("mirror.corp",), "ftp URLs are never fetched"),  # trust is for http only
        ("file:///etc/passwd", (), "file URLs are never fetched"),
        ("javascript:alert(1)", (), "javascript URLs are never fetched"),
        ("//mirror.corp/whl", (), "scheme-less URLs are never fetched"),
        ("https:///whl", (), "no host"),
        ("https://host:99999/", (), "not a valid URL"),
    ],
)
def test_allowed(url: str, trusted: tuple[str, ...], why: str | None) -> None:
    got = allowed(url, trusted)
    assert (got is None) if why is None else (got is not None and why in got)


@pytest.mark.parametrize(
    ("url", "clean", "user", "password"),
    [
        ("https://alice:s3cret@host/whl", "https://host/whl", "alice", "s3cret"),
        ("https://ghp_T0KEN@host/whl", "https://host/whl", "ghp_T0KEN", ""),
        ("https://__token__:glpat-X@host:8443/whl", "https://host:8443/whl", "__token__", "glpat-X"),
        ("https://alice:p%40ss%3Aw@host/whl", "https://host/whl", "alice", "p@ss:w"),  # decoded once
        ("https://a@b:c@host/whl", "https://host/whl", "a@b", "c"),  # userinfo ends at the last '@'
        ("https://host/whl", "https://host/whl", None, None),
        ("https://:@host/whl", "https://host/whl", None, None),
    ],
)
def test_split_credentials(url: str, clean: str, user: str | None, password: str | None) -> None:
    bare, cred = split_credentials(url)
    assert bare == clean
    if user is None:
        assert cred is None
    else:
        assert cred is not None and (cred.username, cred.password) == (user, password)
        assert cred.origin == origin(clean)
        assert user not in repr(cred) and (not password or password not in repr(cred))
        assert split_credentials(with_credential(clean, cred))[1] == cred  # the installer's round trip


def test_origin_fills_default_ports() -> None:
    assert origin("https://Host/x") == Origin("https", "host", 443) == origin("https://host:443/y")
    assert origin("http://host/") != origin("https://host/")
    assert origin("http://host:8080/") != origin("http://host/")


def test_with_credential_only_for_its_origin() -> None:
    _, cred = split_credentials("https://alice:pw@mirror.corp/whl")
    assert with_credential("https://other.corp/whl", cred) == "https://other.corp/whl"
    assert with_credential("http://mirror.corp/whl", cred) == "http://mirror.corp/whl"  # another scheme


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET https://alice:s3cret@host/whl failed", "GET https://****@host/whl failed"),
        ("https://ghp_T0KEN@host and http://u:p@h2/", "https://****@host and http://****@h2/"),
        ("no url here: alice@example.org", "no url here: alice@example.org"),  # an e-mail is not a URL
        ("https://host/path@v2", "https://host/path@v2"),  # '@' after the host is not userinfo
    ],
)
def test_scrub(text: str, masked: str) -> None:
    assert scrub(text) == masked


def test_refusals_judge_each_link_as_allowed_does() -> None:
    from torchpin.net.urls import allowed, refusals

    urls = [
        "https://cdn.example/whl/a.whl",
        "https://cdn.example/whl/b.whl",
        "http://127.0.0.1:8000/x.whl",
        "http://mirror.example/x.whl",
        "ftp://mirror.example/x.whl",
        "invalid:",
        "https://h:99999/x.whl",
        "mailto:someone",
        "http://trusted.example/y.whl",
    ]
    assert refusals(urls, ["trusted.example"]) == [allowed(u, ["trusted.example"]) for u in urls]
