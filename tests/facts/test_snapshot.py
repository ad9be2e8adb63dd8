"""The embedded snapshot: its facts hang together, and a broken file fails with the path named."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from packaging.version import Version

from torchpin.errors import SnapshotError
from torchpin.facts.snapshot import Catalog, load_catalog
from torchpin.facts.wheels import parse_wheel, wheel_tags
from torchpin.models import COMPANIONS, PLATFORM_KEYS

Edit = Callable[[dict[str, Any]], None]


def test_every_release_in_scope_is_present(catalog: Catalog) -> None:
    versions = [str(r.version) for r in catalog.releases]
    on_pypi = [v for v in catalog.projects["torch"] if not Version(v).is_prerelease]
    assert versions[0] == max(on_pypi, key=Version) and versions[-1] == "1.13.0"
    assert sorted(versions) == sorted(on_pypi) and len(versions) >= 30  # every PyPI release from 1.13.0 on
    assert versions == sorted(versions, key=Version, reverse=True)


def test_every_file_is_a_real_wheel_of_its_release(snapshot_doc: dict[str, Any]) -> None:
    count = 0
    for project, versions in snapshot_doc["projects"].items():
        for version, body in versions.items():
            for f in body["files"]:
                w = parse_wheel(f["filename"])
                assert (w.project, w.version.public) == (project, version), f["filename"]
                assert wheel_tags(f["filename"]) == w.tags  # the catalog reads the tags alone
                assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), f
                assert f["size"] > 0
                assert f["url"].startswith("https://files.pythonhosted.org/packages/")
                assert f["url"].endswith("/" + f["filename"])
                count += 1
    assert count > 1500  # the real PyPI file lists, not a sample


def test_known_variant_files_are_pytorch_index_urls(catalog: Catalog) -> None:
    assert catalog.variant_files
    for name, f in catalog.variant_files.items():
        assert f.url is not None and f.url.startswith("https://download.pytorch.org/whl/")
        assert "%2B" in f.url or "+" not in name  # the index encodes '+' in hrefs
        assert f.sha256 is not None and len(f.sha256) == 64


def test_facts_hang_together(catalog: Catalog) -> None:
    variants = set(catalog.variant_names)
    for r in catalog.releases:
        for plat, default in r.pypi_default.items():
            assert default in variants, (r.version, plat)
        for b in r.builds:
            assert b.platform in PLATFORM_KEYS
            if b.variant.name.startswith("cu"):
                assert b.variant.name in catalog.cuda_variants, b
                assert b.arch is not None, (r.version, b.variant, b.platform)
                assert list(b.arch.sass) == sorted(b.arch.sass)
        for project, pair in r.companions.items():
            assert project in COMPANIONS
            assert catalog.release(pair.built_with) is not None, (r.version, project)
            assert catalog.project(project, pair.version) is not None, (r.version, project, pair.version)
    for major in (11, 12, 13):
        assert set(catalog.minor_compat[major]) == {"linux", "windows"}


def test_status_legend_and_sources_are_documented(snapshot_doc: dict[str, Any]) -> None:
    assert set(snapshot_doc["status_legend"]) == {"confirmed", "secondary", "unconfirmed"}
    sources = set(snapshot_doc["sources"])
    for ver, rel in snapshot_doc["releases"].items():
        for plats in rel["variants"].values():
            for fact in plats.values():
                for sid in fact["source"].split("; "):
                    assert sid in sources, (ver, sid)


def _set(path: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (_set("schema", 2), "schema: expected 1"),  # a newer torchpin's file
        (_set("releases/2.14.1/variants/cu126/linux_x86_64/status", "maybe"), "cu126.linux_x86_64.status"),
        (_set("releases/2.14.1/variants/cu126/win32", {"status": "confirmed", "source": "x"}), "a platform key"),
        (_set("releases/2.14.1/variants/cu126/linux_x86_64/arch/sass", ["86"]), "arch.sass"),
        (_set("releases/2.14.1/companions/torchvision/version", "zero"), "companions.torchvision.version"),
        (_set("cuda/minor_compat/12/linux", "latest"), "cuda.minor_compat.12.linux"),
        (_set("releases", []), "releases: expected an object"),
        (_set("projects/torch/2.14.1/files", {}), "projects.torch.2.14.1.files"),
        (_set("projects/torch/2.14.1/requires_python", ">=>3"), "requires_python"),
    ],
)
def test_broken_snapshot_names_the_field(edited_catalog: Callable[[Edit], Catalog], edit: Edit, fragment: str) -> None:
    """A project is read when first used (every lock uses torch's): its fault surfaces then."""
    with pytest.raises(SnapshotError) as err:
        edited_catalog(edit).projects["torch"]
    assert fragment in str(err.value)
    assert err.value.exit_code == 4


def test_not_json_is_a_snapshot_error() -> None:
    with pytest.raises(SnapshotError, match="not valid JSON"):
        load_catalog(b"{truncated")


def test_no_fact_citing_an_inference_is_used_as_confirmed(snapshot_doc: dict[str, Any]) -> None:
    """Issue 17, item 9: a fact whose source says INFERRED is marked unconfirmed, or sourced."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "INFERRED" in str(node.get("source", "")) and node.get("status") in ("confirmed", "secondary"):
                found.append(path)
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(snapshot_doc, "")
    assert found == []


@pytest.mark.parametrize("release", ["1.13.0", "1.13.1", "2.0.0", "2.0.1"])
def test_the_windows_cu117_gpu_lists_come_from_the_builder_scripts(catalog: Catalog, release: str) -> None:
    """Issue 17, item 9: pytorch/builder's windows/cuda117.bat set 3.7+PTX;5.0;6.0;6.1;7.0;7.5;8.0;8.6
    (the list was inferred from Linux before, without 6.1 and the PTX)."""
    from tests.conftest import target
    from torchpin.decide.select import select
    from torchpin.decide.targets import parse_requirement

    rel = catalog.release(release)
    build = rel.build("cu117", "win_amd64") if rel else None
    assert build is not None and build.arch is not None and build.arch.status == "confirmed"
    assert "BUILDER_WIN_BAT" in build.arch.source
    # an RTX 4090 (sm_89) runs the sm_86 code, an H100 (sm_90) JIT-compiles the compute_37 PTX
    for cc in ("8.9", "9.0"):
        machine = target("3.10", "windows", driver="560.94", cc=(cc,), backend="cu117")
        plan = select(machine, catalog, [parse_requirement(f"torch=={release}")])
        assert [p.version for p in plan.pins] == [f"{release}+cu117"]


def test_every_project_of_the_shipped_snapshot_parses(catalog: Catalog) -> None:
    """Projects are parsed on first use: here every one is, so a bad field can't hide in one a
    lock rarely asks for."""
    for project in catalog.projects:
        releases = catalog.projects[project]
        assert releases and all(r.project == project for r in releases.values())
        for release in releases.values():
            release.files()
            for plat in ("linux_x86_64", "macos_arm64"):
                release.python_tags(plat)
