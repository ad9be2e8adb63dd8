"""Index pages → wheel links (pure), on the real page shapes, and fuzzed."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchpin.errors import IndexFormatError
from torchpin.facts.simple import JSON_TYPE, parse_html, parse_json, parse_page

PAGE = "https://download.pytorch.org/whl/cu124/torch/"
SHA = "9dde30f399ca22137455cca4d47140dfb7f4176e2d16a9729fc044eebfadb13a"
REAL_CU124 = f"""<!DOCTYPE html>
<html>
  <body>
    <h1>Links for torch</h1>
    <a href="/whl/cu124/torch-2.5.1%2Bcu124-cp310-cp310-linux_x86_64.whl#sha256={SHA}">torch-2.5.1+cu124-cp310-cp310-linux_x86_64.whl</a><br/>
    <a href="https://download-r2.pytorch.org/whl/cu124/torch-2.5.1%2Bcu124-cp311-cp311-win_amd64.whl#sha256={SHA}" data-dist-info-metadata="sha256={SHA}" data-core-metadata="sha256={SHA}" data-upload-time="2026-01-23T15:10:22Z">torch-2.5.1+cu124-cp311-cp311-win_amd64.whl</a><br/>
    <a href="/whl/torch-2.0.1-cp38-cp38-manylinux2014_aarch64.whl">torch-2.0.1-cp38-cp38-manylinux2014_aarch64.whl</a><br/>
  </body>
</html>
<!--TIMESTAMP 1751116657-->
"""


def test_real_page_shape() -> None:
    links = parse_html(REAL_CU124, PAGE)
    assert [link.filename for link in links] == [
        "torch-2.5.1+cu124-cp310-cp310-linux_x86_64.whl",
        "torch-2.5.1+cu124-cp311-cp311-win_amd64.whl",
        "torch-2.0.1-cp38-cp38-manylinux2014_aarch64.whl",  # root-level objects appear on variant pages
    ]
    first, cdn, old = links
    # root-relative hrefs resolve against the page; %2B stays encoded in the URL, the fragment goes
    assert first.url == "https://download.pytorch.org/whl/cu124/torch-2.5.1%2Bcu124-cp310-cp310-linux_x86_64.whl"
    assert first.sha256 == SHA and not first.has_metadata
    assert cdn.url.startswith("https://download-r2.pytorch.org/")  # links may point at another host
    assert cdn.has_metadata and cdn.metadata_sha256 == SHA and cdn.upload_time == "2026-01-23T15:10:22Z"
    assert old.sha256 is None  # nightly-style: no hash published


def test_flat_listing_with_html_entities() -> None:
    # A directory-listing mirror: '+' written as &#43;, plus non-wheel links.
    page = (
        '<html><body><a href="../">../</a>\n<a href="torch-2.5.1&#43;cu124-cp39-cp39-linux_x86_64.whl">'
        "torch-2.5.1+cu124-cp39-cp39-linux_x86_64.whl</a> 2024-10-29 1.2G\n"
        '<a href="README.txt">README.txt</a></body></html>'
    )
    links = parse_html(page, "https://mirrors.example/pytorch-wheels/cu124/", flat=True)
    assert [link.filename for link in links] == ["torch-2.5.1+cu124-cp39-cp39-linux_x86_64.whl"]
    assert links[0].url == "https://mirrors.example/pytorch-wheels/cu124/torch-2.5.1+cu124-cp39-cp39-linux_x86_64.whl"


def test_requires_python_and_yanked() -> None:
    page = (
        '<html><body><a href="networkx-3.3-py3-none-any.whl" data-requires-python="&gt;=3.10" '
        'data-yanked="broken">networkx-3.3-py3-none-any.whl</a></body></html>'
    )
    (link,) = parse_html(page, "https://download.pytorch.org/whl/networkx/")
    assert link.requires_python == ">=3.10" and link.yanked == "broken"


def test_truncated_page_is_an_error() -> None:
    cut = REAL_CU124[: len(REAL_CU124) // 2]
    with pytest.raises(IndexFormatError, match="truncated"):
        parse_html(cut, PAGE)


def test_json_page() -> None:
    doc = {
        "meta": {"api-version": "1.1"},
        "name": "torch",
        "files": [
            {
                "filename": "torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl",
                "url": "../torch-2.5.1%2Bcpu-cp312-cp312-linux_x86_64.whl",
                "hashes": {"sha256": SHA},
                "requires-python": ">=3.8",
                "core-metadata": {"sha256": SHA},
                "yanked": False,
            }
        ],
    }
    (link,) = parse_page(json.dumps(doc).encode(), JSON_TYPE, "https://mirror.example/simple/torch/")
    assert link.url == "https://mirror.example/simple/torch-2.5.1%2Bcpu-cp312-cp312-linux_x86_64.whl"
    assert (link.sha256, link.requires_python, link.metadata_sha256, link.yanked) == (SHA, ">=3.8", SHA, None)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"files": 3}', "no 'files' list"),
        (b'{"files": [{"filename": "x.whl"}]}', "no 'url'"),
    ],
)
def test_bad_json_pages(body: bytes, fragment: str) -> None:
    with pytest.raises(IndexFormatError, match=fragment):
        parse_json(body, "https://m/simple/torch/")


def test_content_type_decides_the_parser() -> None:
    # download.pytorch.org answers a JSON Accept header with HTML: trust the response's type.
    assert len(parse_page(REAL_CU124.encode(), "text/html; charset=utf-8", PAGE)) == 3
    with pytest.raises(IndexFormatError, match="not UTF-8"):
        parse_page(b"\xff\xfe<html>", "text/html", PAGE)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_fuzz_html_never_crashes(text: str) -> None:
    try:
        for link in parse_html(text, PAGE):
            assert link.filename and "#" not in link.url
    except IndexFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
            st.sampled_from(["", "#sha256=" + SHA, "#md5=x", "#sha256=zz"]),
        ),
        max_size=8,
    )
)
def test_fuzz_anchor_soup(anchors: list[tuple[str, str]]) -> None:
    body = "<html><body>" + "".join(f'<a href="{h}{frag}">{h}</a>' for h, frag in anchors) + "</body></html>"
    try:
        links = parse_html(body, PAGE)
    except IndexFormatError:
        return
    for link in links:
        assert link.sha256 in (None, SHA)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500))
def test_fuzz_json_never_crashes(body: bytes) -> None:
    with contextlib.suppress(IndexFormatError):
        parse_json(body, "https://m/simple/torch/")
