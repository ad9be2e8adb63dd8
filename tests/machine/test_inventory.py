"""An inventory read back (`host_from_json`) is the machine that wrote it: for every recorded
machine, `host_json` of what was read gives the same facts and the same decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchpin.machine.host import host_json
from torchpin.machine.inventory import host_from_json

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "detect"
PYTHON = {"version": "3.13t", "implementation": "CPython", "bits": 64, "freethreaded": True, "executable": "/x/python"}


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_every_recorded_machine_reads_back_as_itself(path: Path) -> None:
    doc = {**json.loads(path.read_text()), "python": PYTHON, "hostname": path.stem}
    linux = doc["platform"]["os"] == "linux"
    doc["platform"] = {"container": None, "x86_64_level": None, **doc["platform"], "glibc": "2.31" if linux else None}
    again = host_json(host_from_json(doc, str(path)), {})
    for key in ("hostname", "python", "platform", "nvidia", "amd", "intel", "jetson", "build_hint", "accelerator"):
        assert again[key] == doc[key], key
    assert again["decided_by"] == doc["decided_by"] and again["notes"] == doc["notes"]


def test_an_inventory_of_an_older_torchpin_without_hostname_still_reads() -> None:
    doc = {**json.loads((GOLDEN / "smi_t4.json").read_text()), "python": PYTHON}
    doc["platform"]["glibc"] = "2.35"
    assert host_from_json(doc, "t4.json").hostname is None
