"""The release drill (issue 17, item 8): a new torch and torchvision appear in PyPI's JSON
(``--from-dir``) and on the index (``--crawl``); after one refresh, ``lock --offline`` locks them
for every build the crawl saw and for PyPI's own builds, torchvision paired by its Requires-Dist.
Nothing here names "the newest release": the drill's release is one past the snapshot's newest."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from tests.conftest import target
from tests.facts.test_refresh import _script, pypi_doc
from tests.support.fake_index import FakeIndexServer, FakePytorchIndex
from torchpin.decide.select import select
from torchpin.decide.targets import parse_requirement
from torchpin.facts.snapshot import Catalog, load_catalog

BUILDS = ("cpu", "cu130")  # what the drill's index serves for the new release on Linux x86_64


def _bump(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor + 1}.0"


def _renamed(files: list[dict[str, Any]], old: str, new: str, project: str) -> list[dict[str, Any]]:
    out = []
    for f in files:
        name = f["filename"].replace(f"{project}-{old}-", f"{project}-{new}-")
        digest = hashlib.sha256(name.encode()).hexdigest()
        out.append({**f, "filename": name, "sha256": digest, "url": f["url"].replace(f["filename"], name)})
    return out


def _drill(doc: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """The snapshot as it will be once the next torch and torchvision exist (for the fake index
    and PyPI's documents): the newest release's facts, one minor up."""
    world = copy.deepcopy(doc)
    torch_old = max(world["releases"], key=Version)
    torch_new = _bump(torch_old)
    vision_old = world["releases"][torch_old]["companions"]["torchvision"]["version"]
    vision_new = _bump(vision_old)
    for project, old, new in (("torch", torch_old, torch_new), ("torchvision", vision_old, vision_new)):
        body = copy.deepcopy(world["projects"][project][old])
        body.update(files=_renamed(body["files"], old, new, project), uploaded="2099-01-01")
        body.pop("requires_torch", None)
        if project == "torchvision":
            body["requires_torch"] = f"=={torch_new}"
        world["projects"][project][new] = body
    rel = copy.deepcopy(world["releases"][torch_old])
    rel["date"] = "2099-01-01"
    rel["variants"] = {v: {"linux_x86_64": {"status": "confirmed", "source": "DRILL"}} for v in BUILDS}
    rel["companions"] = {
        "torchvision": {"version": vision_new, "built_with": torch_new, "status": "confirmed", "source": "DRILL"}
    }
    world["releases"][torch_new] = rel
    return world, torch_new, vision_new


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, str, str, list[str]]:
    from tests.conftest import _raw

    doc = json.loads(_raw())
    world, torch_new, vision_new = _drill(doc)
    tmp = tmp_path_factory.mktemp("drill")
    pypi = tmp / "pypi"
    pypi.mkdir()
    for project in _script().PROJECTS:
        body = pypi_doc(world, project)
        if project == "torch":
            body["info"] = {
                "name": "torch",
                "version": torch_new,
                "requires_dist": ["filelock", "nvidia-cuda-runtime==13.2.51; platform_system == 'Linux'"],
            }
        if project == "torchvision":
            body["info"] = {"name": "torchvision", "version": vision_new, "requires_dist": [f"torch=={torch_new}"]}
        (pypi / f"{project}.json").write_text(json.dumps(body))
    snapshot = tmp / "wheel_index.json"
    snapshot.write_text(json.dumps(doc))
    mod = _script()
    with FakeIndexServer(FakePytorchIndex(catalog=load_catalog(json.dumps(world)))) as srv:
        code = mod.main(["--snapshot", str(snapshot), "--from-dir", str(pypi), "--crawl", srv.base])
    assert code == 0
    return load_catalog(snapshot.read_bytes()), torch_new, vision_new, []


def _pins(catalog: Catalog, **kw: Any) -> dict[str, str]:
    reqs = [parse_requirement(r) for r in ("torch", "torchvision")]
    plan = select(target("3.12", **kw), catalog, reqs)
    return {p.project: p.version for p in plan.pins}


def test_one_refresh_locks_the_builds_the_crawl_saw(refreshed: tuple[Catalog, str, str, list[str]]) -> None:
    catalog, torch_new, vision_new, _ = refreshed
    assert _pins(catalog, backend="cpu") == {"torch": f"{torch_new}+cpu", "torchvision": f"{vision_new}+cpu"}
    assert _pins(catalog, backend="cu130") == {"torch": f"{torch_new}+cu130", "torchvision": f"{vision_new}+cu130"}


def test_pypis_own_builds_are_confirmed_by_its_files(refreshed: tuple[Catalog, str, str, list[str]]) -> None:
    catalog, torch_new, vision_new, _ = refreshed
    assert _pins(catalog, os="macos", arch="aarch64") == {"torch": torch_new, "torchvision": vision_new}
    fact = catalog.release(torch_new).build("cu132", "linux_x86_64")  # type: ignore[union-attr]
    assert fact is not None and fact.status == "confirmed"  # PyPI's Linux wheel: its Requires-Dist names CUDA 13.2


def test_what_neither_pypi_nor_the_crawl_showed_stays_unconfirmed(
    refreshed: tuple[Catalog, str, str, list[str]],
) -> None:
    catalog, torch_new, _, _ = refreshed
    release = catalog.release(torch_new)
    assert release is not None
    cu126 = release.build("cu126", "linux_x86_64")
    assert cu126 is None or cu126.status == "unconfirmed"
    torch = _pins(catalog, backend="cu126").get("torch", "")
    assert not torch.startswith(torch_new)


def test_crawling_an_unreachable_index_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import _raw

    snapshot = tmp_path / "wheel_index.json"
    snapshot.write_bytes(_raw())
    pypi = tmp_path / "pypi"
    pypi.mkdir()
    doc = json.loads(_raw())
    for project in _script().PROJECTS:
        (pypi / f"{project}.json").write_text(json.dumps(pypi_doc(doc, project)))
    code = _script().main(["--snapshot", str(snapshot), "--from-dir", str(pypi), "--crawl", "http://127.0.0.1:9/whl"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4 and len(err) == 1 and err[0].startswith("refresh: error: --crawl"), err
    assert snapshot.read_bytes() == _raw()  # nothing written
