"""Companions: every release whose declared torch range admits the torch, newest first (issue 17,
item 1). A torchcodec wheel declares no torch; its README compatibility table (CODEC_README) is
the declaration, recorded per release as ``torch_pairing``."""

from __future__ import annotations

import pytest

from tests.conftest import target
from torchpin.decide.select import select
from torchpin.decide.targets import parse_requirement
from torchpin.errors import NoCompatibleBuild
from torchpin.facts.snapshot import Catalog
from torchpin.models import Target

MAC13 = target("3.12", "macos", "aarch64", macos="13.0")
LINUX = target("3.12", backend="cpu")

# (target, requirements, the torch and torchcodec chosen)
CASES = [
    # torchcodec 0.12+ (torch>=2.11) need macOS 14; 0.11.1 (the ==2.11 line) is macOS 11: torch 2.11.0.
    (MAC13, ["torch", "torchcodec"], "2.11.0", "0.11.1"),
    # A pin to an older line gets the torch its table pairs it with.
    (MAC13, ["torch", "torchcodec==0.8.1"], "2.9.1", "0.8.1"),
    (MAC13, ["torch", "torchcodec==0.6.0"], "2.8.0", "0.6.0"),
    (MAC13, ["torch", "torchcodec==0.4.0"], "2.7.1", "0.4.0"),
    (MAC13, ["torch", "torchcodec==0.11.1"], "2.11.0", "0.11.1"),
    (LINUX, ["torch==2.9.1", "torchcodec<0.9"], "2.9.1", "0.8.1"),
    (LINUX, ["torch", "torchcodec==0.10.0"], "2.10.0", "0.10.0"),
]


@pytest.mark.parametrize(("t", "reqs", "torch", "codec"), CASES, ids=[" ".join(c[1]) for c in CASES])
def test_every_declared_companion_line_is_tried(
    catalog: Catalog, t: Target, reqs: list[str], torch: str, codec: str
) -> None:
    plan = select(t, catalog, [parse_requirement(r) for r in reqs])
    pins = {p.project: p.version.split("+")[0] for p in plan.pins}
    assert (pins["torch"], pins["torchcodec"]) == (torch, codec)


def test_a_line_no_torch_fits_still_fails_naming_the_companion(catalog: Catalog) -> None:
    with pytest.raises(NoCompatibleBuild, match="torchcodec"):
        select(MAC13, catalog, [parse_requirement("torch==2.11.0"), parse_requirement("torchcodec==0.8.1")])


def test_every_table_pairing_names_its_source(catalog: Catalog) -> None:
    paired = {v: f for v, f in catalog.projects["torchcodec"].items() if f.paired_torch is not None}
    assert paired and all(f.paired_source == "CODEC_README" and f.requires_torch is None for f in paired.values())
