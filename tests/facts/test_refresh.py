"""scripts/refresh_wheel_index.py: PyPI documents in, a deterministic snapshot and a summary out."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import target
from tests.support.newest import AFTER_NEXT, NEXT, TORCH
from torchpin.decide.select import select
from torchpin.facts.snapshot import load_catalog
from torchpin.models import Requirement

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "refresh_wheel_index.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_wheel_index", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def pypi_doc(snapshot: dict[str, Any], project: str) -> dict[str, Any]:
    """PyPI's /pypi/<project>/json shape, rebuilt from the snapshot's own file lists."""
    releases: dict[str, list[dict[str, Any]]] = {}
    for ver, body in snapshot["projects"][project].items():
        releases[ver] = [
            {
                "filename": f["filename"],
                "packagetype": "bdist_wheel",
                "digests": {
                    "sha256": f["sha256"],
                    "blake2b_256": f["url"].split("/packages/")[1].replace("/", "")[:60],
                },
                "size": f["size"],
                "url": f["url"],
                "upload_time": body["uploaded"] + "T00:00:00",
                "requires_python": body.get("requires_python"),
                "yanked": body["yanked"],
            }
            for f in body["files"]
        ]
    return {"info": {"name": project}, "releases": releases}


def test_unchanged_pypi_means_unchanged_bytes(snapshot_doc: dict[str, Any]) -> None:
    mod = _script()
    new, summary = mod.refresh(snapshot_doc, lambda p: pypi_doc(snapshot_doc, p), "2099-01-01")
    assert summary == []
    assert mod.dump(new) == mod.dump(snapshot_doc)  # deterministic: no run date, same order


def test_new_release_and_changed_hash(snapshot_doc: dict[str, Any], tmp_path: Path) -> None:
    mod = _script()
    docs = {p: pypi_doc(snapshot_doc, p) for p in mod.PROJECTS}
    template = docs["torch"]["releases"][TORCH]
    docs["torch"]["releases"][NEXT] = [
        dict(e, filename=e["filename"].replace(TORCH, NEXT), upload_time="2027-01-15T10:00:00") for e in template
    ]
    docs["torch"]["releases"][f"{AFTER_NEXT}rc1"] = copy.deepcopy(template)  # pre-releases stay out
    docs["torchvision"]["releases"]["0.29.1"][0]["digests"]["sha256"] = "0" * 64
    for project, doc in docs.items():
        (tmp_path / f"{project}.json").write_text(json.dumps(doc))
    snap = tmp_path / "wheel_index.json"
    snap.write_text(mod.dump(snapshot_doc))

    assert mod.main(["--snapshot", str(snap), "--from-dir", str(tmp_path)]) == 0
    new = json.loads(snap.read_text())
    assert NEXT in new["releases"] and f"{AFTER_NEXT}rc1" not in new["projects"]["torch"]
    assert new["releases"][NEXT]["date"] == "2027-01-15"
    confirmed = {
        (v, plat)
        for v, plats in new["releases"][NEXT]["variants"].items()
        for plat, f in plats.items()
        if f["status"] != "unconfirmed"
    }
    # PyPI's own files confirm the builds PyPI serves (cpu on macOS and Windows); Linux's CUDA
    # only its Requires-Dist would say (none given here), and everything else waits for a crawl.
    assert confirmed == {("cpu", "macos_arm64"), ("cpu", "win_amd64")}

    # The Linux builds are unconfirmed, so an offline lock for Linux does not use it yet.
    catalog = load_catalog(snap.read_bytes())
    plan = select(target("3.12"), catalog, [Requirement("torch")])
    assert plan.release == TORCH
    assert any(r.release == NEXT and "unconfirmed" in r.reason for r in plan.rejected)

    # a second run over the same documents changes nothing
    before = snap.read_bytes()
    assert mod.main(["--snapshot", str(snap), "--from-dir", str(tmp_path)]) == 0
    assert snap.read_bytes() == before


def test_summary_names_what_changed(snapshot_doc: dict[str, Any]) -> None:
    mod = _script()
    docs = {p: pypi_doc(snapshot_doc, p) for p in mod.PROJECTS}
    docs["torchvision"]["releases"]["0.29.1"][0]["digests"]["sha256"] = "0" * 64
    del docs["torchaudio"]["releases"]["2.0.0"]
    new, summary = mod.refresh(snapshot_doc, docs.__getitem__, "2099-01-01")
    assert new["snapshot_date"] == "2099-01-01"  # the date moves only with the content
    assert "torchvision: file lists or hashes changed for 0.29.1" in summary
    assert "torchaudio: not on PyPI any more (kept): 2.0.0" in summary


def test_file_url_from_blake2b() -> None:
    mod = _script()
    entry = {
        "filename": "x-1-py3-none-any.whl",
        "url": "../../packages/ab/cd/ef",
        "digests": {"blake2b_256": "abcdef0123"},
    }
    assert mod.file_url(entry) == "https://files.pythonhosted.org/packages/ab/cd/ef0123/x-1-py3-none-any.whl"


def test_crawl_confirms_what_the_index_serves(snapshot_doc: dict[str, Any], tmp_path: Path) -> None:
    from tests.support.fake_index import FakeIndexServer

    mod = _script()
    with FakeIndexServer() as srv:
        pages = mod.crawl(srv.base, snapshot_doc)
        new, summary = mod.crawl_update(snapshot_doc, pages)
        served = srv.index.sha256("torch-2.15.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl")
    # 2.15.0's cu126 was unconfirmed; the index serves it, so now it is confirmed
    assert snapshot_doc["releases"]["2.15.0"]["variants"]["cu126"]["linux_x86_64"]["status"] == "unconfirmed"
    fact = new["releases"]["2.15.0"]["variants"]["cu126"]["linux_x86_64"]
    assert fact["status"] == "confirmed" and fact["source"].endswith("INDEX_CRAWL")
    # cu134 is not on this index: it stays unconfirmed
    assert new["releases"]["2.14.1"]["variants"]["cu134"]["linux_x86_64"]["status"] == "unconfirmed"
    urls = {f["url"]: f["sha256"] for f in new["variant_files"]}
    assert urls[f"{srv.cdn_url}/whl/cu126/torch-2.15.0%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl"] == served
    assert any("builds confirmed" in line for line in summary)
    # a second crawl of the same index changes nothing
    again, _ = mod.crawl_update(new, pages)
    assert mod.dump(again) == mod.dump(new)
    # and the result is a valid snapshot
    from torchpin.facts.snapshot import load_catalog

    assert load_catalog(mod.dump(new)).release("2.15.0") is not None


def test_the_newest_companion_records_its_requires_dist_on_torch(snapshot_doc: dict[str, Any]) -> None:
    mod = _script()
    doc = copy.deepcopy(snapshot_doc)
    newest = max(doc["projects"]["torchvision"], key=lambda v: [int(p) for p in v.split(".")])
    del doc["projects"]["torchvision"][newest]["requires_torch"]  # as before anyone recorded it

    def fetch(project: str) -> dict[str, Any]:
        body = pypi_doc(snapshot_doc, project)
        if project == "torchvision":  # PyPI's `info` describes the newest release only
            body["info"] = {
                "name": project,
                "version": newest,
                "requires_dist": ["numpy", "torch>=2.14.0", 'scipy; extra == "scipy"'],
            }
        return body

    new, _ = mod.refresh(doc, fetch, "2099-01-01")
    assert new["projects"]["torchvision"][newest]["requires_torch"] == ">=2.14.0"
    older = new["projects"]["torchvision"]["0.25.0"]
    assert older["requires_torch"] == "==2.10.0"  # recorded earlier, kept


def test_ecosystem_packages_are_refreshed_and_keep_their_recorded_builds(snapshot_doc: dict[str, Any]) -> None:
    """A new xformers release: its files and (newest only) Requires-Dist from PyPI; which variants it
    is built for PyPI doesn't say, so none is recorded and only live pages confirm them."""
    mod = _script()
    assert {"xformers", "torch-tensorrt"} <= set(mod.PROJECTS)
    docs = {p: pypi_doc(snapshot_doc, p) for p in mod.PROJECTS}
    template = docs["xformers"]["releases"]["0.0.35"]
    docs["xformers"]["releases"]["0.0.36"] = [
        dict(e, filename=e["filename"].replace("0.0.35", "0.0.36"), upload_time="2027-01-20T10:00:00") for e in template
    ]
    docs["xformers"]["info"] = {"name": "xformers", "version": "0.0.36", "requires_dist": ["torch>=2.15", "numpy"]}
    new, summary = mod.refresh(snapshot_doc, docs.__getitem__, "2099-01-01")
    assert "xformers: new versions 0.0.36" in summary
    assert new["projects"]["xformers"]["0.0.36"]["requires_torch"] == ">=2.15"
    assert "variant_builds" not in new["projects"]["xformers"]["0.0.36"]
    assert new["projects"]["xformers"]["0.0.35"] == snapshot_doc["projects"]["xformers"]["0.0.35"]
    catalog = load_catalog(mod.dump(new))
    plan = select(target(driver="580.65", cc=("8.6",)), catalog, [Requirement("torch"), Requirement("xformers")])
    assert next(p.version for p in plan.pins if p.project == "xformers") == "0.0.35"
    assert any("xformers 0.0.36: its variant builds are not recorded" in r.reason for r in plan.rejected)
