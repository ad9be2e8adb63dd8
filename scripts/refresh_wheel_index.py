#!/usr/bin/env python3
"""Bring data/wheel_index.json up to date from PyPI's JSON API.

The snapshot's curated facts (variants, arch lists, driver tables, pairings)
stay as they are; PyPI supplies each project's real wheel files (name, sha256,
size, URL) and any torch release the snapshot lacks. A new release gets facts
copied from the newest known one, all marked ``unconfirmed`` so the policy uses
none of them until a live index or a person confirms them.

Output is deterministic (sorted keys, sorted files, no run timestamps; the
snapshot date moves only when content changes) and a summary of what changed
goes to stderr.

    scripts/refresh_wheel_index.py                # fetch PyPI, rewrite the file
    scripts/refresh_wheel_index.py --dry-run      # show the summary only
    scripts/refresh_wheel_index.py --from-dir D   # read D/<project>.json instead of PyPI
    scripts/refresh_wheel_index.py --crawl https://download.pytorch.org/whl   # also read the index

``--crawl BASE`` reads ``BASE/<variant>/<project>/`` for every variant the snapshot knows
(and any the root page lists): builds seen there become ``confirmed``, new variants and
releases are added (their other facts ``unconfirmed``), and every torch-family wheel's URL
and sha256 is recorded in ``variant_files``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from torchpin.facts.wheels import platform_key
from torchpin.models import COMPANIONS, ECOSYSTEM

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "data" / "wheel_index.json"
# The torch family, the ecosystem packages paired with it and the triton CUDA torch requires:
# what PyPI has (torchpin.models; the ROCm and XPU triton builds are on the variant index only).
PROJECTS = ("torch", *COMPANIONS, *ECOSYSTEM, "triton")
PYPI_JSON = "https://pypi.org/pypi/{project}/json"
FILES_HOST = "https://files.pythonhosted.org/packages"
MIN_TORCH = Version("1.13.0")

Fetch = Callable[[str], dict[str, Any]]


def fetch_pypi(project: str, *, retries: int = 3) -> dict[str, Any]:
    """GET PyPI's project JSON with bounded retries (PyPI is the one network source here)."""
    from torchpin.errors import IndexUnavailable
    from torchpin.net import NetPolicy, fetch_bytes

    url = PYPI_JSON.format(project=project)
    for attempt in range(retries):
        try:
            data: dict[str, Any] = json.loads(fetch_bytes(NetPolicy(timeout=30.0, environ=dict(os.environ)), url))
            return data
        except (IndexUnavailable, ValueError) as e:
            if attempt == retries - 1:
                raise SystemExit(f"refresh: cannot read {url}: {e}") from None
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def file_url(entry: dict[str, Any]) -> str:
    """Canonical files.pythonhosted.org URL: PyPI stores files under their blake2b-256 digest."""
    url = str(entry.get("url", ""))
    if url.startswith("https://"):
        return url
    b = entry["digests"]["blake2b_256"]
    return f"{FILES_HOST}/{b[:2]}/{b[2:4]}/{b[4:]}/{entry['filename']}"


def project_versions(doc: dict[str, Any], floor: Version | None) -> dict[str, dict[str, Any]]:
    """PyPI's release map → the snapshot's ``projects.<name>`` shape (wheels only)."""
    out: dict[str, dict[str, Any]] = {}
    for ver, entries in doc.get("releases", {}).items():
        try:
            v = Version(ver)
        except InvalidVersion:
            continue
        if v.is_prerelease or (floor and v < floor):
            continue
        wheels = []
        for e in entries:
            if e.get("packagetype") != "bdist_wheel":
                continue
            try:
                parse_wheel_filename(e["filename"])
            except InvalidWheelFilename:
                continue
            wheels.append(
                {"filename": e["filename"], "sha256": e["digests"]["sha256"], "size": e["size"], "url": file_url(e)}
            )
        if not wheels:
            continue
        rps = {e.get("requires_python") for e in entries} - {None, ""}
        body: dict[str, Any] = {
            "files": sorted(wheels, key=lambda w: w["filename"]),
            "uploaded": min(e["upload_time"] for e in entries)[:10],
            "yanked": all(e.get("yanked", False) for e in entries),
        }
        if len(rps) == 1:
            body["requires_python"] = rps.pop()
        out[ver] = body
    # PyPI's JSON gives Requires-Dist for the newest release only (`info`); older ones keep
    # what earlier refreshes recorded (see `refresh`).
    info = doc.get("info") or {}
    if (latest := out.get(str(info.get("version")))) is not None and (spec := torch_requirement(info)) is not None:
        latest["requires_torch"] = spec
    return out


def torch_requirement(info: dict[str, Any]) -> str | None:
    """The specifier of a companion's own Requires-Dist on torch (">=0" for a bare name), or None."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in info.get("requires_dist") or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.name == "torch" and (req.marker is None or "extra" not in str(req.marker)):
            return str(req.specifier) or ">=0"
    return None


def inferred_release(
    previous: dict[str, Any],
    files: list[dict[str, Any]],
    uploaded: str,
    *,
    version: str = "",
    cuda: str | None = None,
    projects: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Facts for a release PyPI has and the snapshot lacks: copied from the newest, unconfirmed,
    except what PyPI's own files show. PyPI's wheels are builds: a platform PyPI has files for
    is confirmed for the variant PyPI serves there (cpu on macOS and Windows; on Linux the CUDA
    its Requires-Dist names, ``cuda``). A companion release whose own Requires-Dist admits the
    new torch is its pairing, confirmed by that declaration; builds on the variant index stay
    unconfirmed until a crawl sees them."""
    rel = copy.deepcopy(previous)
    rel["date"] = uploaded
    for plats in rel["variants"].values():
        for fact in plats.values():
            fact.update(status="unconfirmed", source="INFERRED")
            if "arch" in fact:
                fact["arch"].update(status="unconfirmed", source="INFERRED")
    for pair in rel.get("companions", {}).values():
        pair.update(status="unconfirmed", source="INFERRED")
    rel.pop("extra_python_tags", None)
    rel.pop("triton", None)  # which triton it pins, only its own metadata says
    defaults = rel.get("pypi_default", {})
    plats = {platform_key(t.platform) for f in files for t in parse_wheel_filename(f["filename"])[3]}
    for plat in sorted(p for p in plats if p):
        variant = cuda if plat.startswith("linux_") and cuda else defaults.get(plat)
        if plat.startswith("linux_") and not cuda:
            continue  # which CUDA PyPI's Linux wheel is for, only its Requires-Dist says
        if variant:
            defaults[plat] = variant
            fact = rel["variants"].setdefault(variant, {}).setdefault(plat, {})
            fact.update(status="confirmed", source="PYPI")
            if "arch" in fact:  # which GPUs it has kernels for, PyPI's listing doesn't say
                fact["arch"].update(status="unconfirmed", source="INFERRED")
    for project, versions in (projects or {}).items():
        declared = [
            v for v, body in versions.items() if body.get("requires_torch") and _admits(body["requires_torch"], version)
        ]
        if declared and project in rel.get("companions", {}):
            rel["companions"][project] = {
                "version": max(declared, key=Version),
                "built_with": version,
                "status": "confirmed",
                "source": "PYPI_WHEEL",
            }
    glibc: dict[str, str] = {}
    for f in files:
        for tag in parse_wheel_filename(f["filename"])[3]:
            if tag.platform.startswith("manylinux_2_"):
                arch = "x86_64" if tag.platform.endswith("x86_64") else "aarch64"
                glibc[f"linux_{arch}"] = "2." + tag.platform.split("_")[2]
    rel["glibc"] = glibc or rel.get("glibc", {})
    return rel


def _admits(spec: str, version: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except InvalidSpecifier:
        return False


def pypi_cuda(info: dict[str, Any]) -> str | None:
    """The variant of PyPI's Linux torch wheel, from the CUDA runtime its Requires-Dist pins
    (``nvidia-cuda-runtime-cu12==12.8.90`` → cu128, ``nvidia-cuda-runtime==13.2.*`` → cu132)."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in info.get("requires_dist") or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.name.startswith("nvidia-cuda-runtime"):
            for spec in req.specifier:
                parts = spec.version.split(".")
                if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                    return f"cu{parts[0]}{parts[1]}"
    return None


def refresh(snapshot: dict[str, Any], fetch: Fetch, today: str) -> tuple[dict[str, Any], list[str]]:
    """Return the refreshed snapshot and a human summary; the input is not modified."""
    new = copy.deepcopy(snapshot)
    summary: list[str] = []
    infos: dict[str, dict[str, Any]] = {}
    for project in PROJECTS:
        old = snapshot["projects"].get(project, {})
        floor = MIN_TORCH if project == "torch" else (min(map(Version, old)) if old else None)
        doc = fetch(project)
        infos[project] = doc.get("info") or {}
        fresh = project_versions(doc, floor)
        added = sorted(set(fresh) - set(old), key=Version)
        # A release only the variant index has (flash-attn-3 3.0.0; PyPI has a placeholder) is not gone.
        gone = sorted((v for v in set(old) - set(fresh) if old[v].get("files")), key=Version)
        fresh.update({v: old[v] for v in set(old) - set(fresh) if not old[v].get("files")})
        changed = sorted((v for v in set(fresh) & set(old) if _hashes(fresh[v]) != _hashes(old[v])), key=Version)
        for v in set(fresh) & set(old):
            # Recorded once (the wheel, the publisher's table or build workflow), kept.
            for key in ("requires_torch", "torch_pairing", "variant_builds"):
                if key in old[v] and key not in fresh[v]:
                    fresh[v][key] = old[v][key]
        if gone:
            # A version PyPI no longer lists is kept: locks made from it must stay explainable.
            for v in gone:
                fresh[v] = old[v]
            summary.append(f"{project}: not on PyPI any more (kept): {', '.join(gone)}")
        if added:
            summary.append(f"{project}: new versions {', '.join(added)}")
        if changed:
            summary.append(f"{project}: file lists or hashes changed for {', '.join(changed)}")
        touched = [v for v in set(fresh) & set(old) if v not in changed and fresh[v] != old[v]]
        if touched:
            summary.append(f"{project}: URLs, sizes or dates updated for {len(touched)} versions")
        new["projects"][project] = fresh
    known = set(new["releases"])
    for ver in sorted(set(new["projects"]["torch"]) - known, key=Version):
        newest = max(new["releases"], key=Version)
        body = new["projects"]["torch"][ver]
        info = infos["torch"] if str(infos["torch"].get("version")) == ver else {}
        companions = {p: new["projects"][p] for p in COMPANIONS}
        new["releases"][ver] = inferred_release(
            new["releases"][newest],
            body["files"],
            body["uploaded"],
            version=ver,
            cuda=pypi_cuda(info),
            projects=companions,
        )
        summary.append(
            f"torch {ver}: new release; PyPI's own builds confirmed by its files, companions by their"
            f" Requires-Dist, the rest copied from {newest} and unconfirmed until a crawl"
        )
    if new != snapshot:
        new["snapshot_date"] = today
    return new, summary


def crawl_update(
    snapshot: dict[str, Any], pages: dict[tuple[str, str], list[Any] | None]
) -> tuple[dict[str, Any], list[str]]:
    """Fold crawled index pages into the snapshot document; pure, for tests."""
    new = copy.deepcopy(snapshot)
    summary: list[str] = []
    files = {f["url"]: f for f in new.get("variant_files", [])}
    upgraded: list[str] = []
    added: list[str] = []
    for (variant, project), links in sorted(pages.items()):
        for link in links or ():
            if not link.filename.endswith(".whl"):
                continue
            try:
                name, version, _, tags = parse_wheel_filename(link.filename)
            except InvalidWheelFilename:
                continue
            if version.is_prerelease or (project == "torch" and version < MIN_TORCH):
                continue
            if link.sha256 and link.url not in files:
                files[link.url] = {
                    "url": link.url,
                    "sha256": link.sha256,
                    "status": "confirmed",
                    "source": "INDEX_CRAWL",
                }
            if str(name) != "torch" or not (version.local == variant or (variant == "cpu" and version.local is None)):
                continue
            rel = new["releases"].get(version.public)
            if rel is None:
                newest = max(new["releases"], key=Version)
                rel = new["releases"][version.public] = inferred_release(new["releases"][newest], [], "")
                rel["variants"] = {}
                summary.append(f"torch {version.public}: new release seen on the index, other facts unconfirmed")
            for tag in tags:
                plat = platform_key(tag.platform)
                if plat is None:
                    continue
                fact = rel["variants"].setdefault(variant, {}).get(plat)
                if fact is None:
                    rel["variants"][variant][plat] = {"status": "confirmed", "source": "INDEX_CRAWL"}
                    added.append(f"{version.public} {variant} {plat}")
                elif fact["status"] != "confirmed":
                    fact.update(status="confirmed", source=f"{fact['source']}; INDEX_CRAWL")
                    upgraded.append(f"{version.public} {variant} {plat}")
    new["variant_files"] = sorted(files.values(), key=lambda f: f["url"])
    if upgraded:
        summary.append(f"index: {len(upgraded)} builds confirmed (e.g. {', '.join(sorted(set(upgraded))[:3])})")
    if added:
        summary.append(f"index: {len(added)} builds added (e.g. {', '.join(sorted(set(added))[:3])})")
    known = len(snapshot.get("variant_files", []))
    if len(files) != known:
        summary.append(f"index: {len(files) - known} wheel URLs with sha256 recorded")
    return new, summary


def crawl(base: str, snapshot: dict[str, Any]) -> dict[tuple[str, str], list[Any] | None]:
    """Fetch every (variant, project) page under BASE concurrently."""
    from torchpin.net.index import IndexClient, IndexConfig, listed_variants

    client = IndexClient(IndexConfig(base_url=base.rstrip("/")))
    variants = {v for rel in snapshot["releases"].values() for v in rel["variants"]} | set(listed_variants(client))
    wanted = {(v, p): f"{base.rstrip('/')}/{v}/{p}/" for v in sorted(variants) for p in PROJECTS}
    fetched = client.fetch(list(wanted.values()))
    out: dict[tuple[str, str], list[Any] | None] = {}
    for key, url in wanted.items():
        links = fetched[url].links
        out[key] = None if links is None else list(links)
    return out


def _hashes(body: dict[str, Any]) -> dict[str, str]:
    return {f["filename"]: f["sha256"] for f in body["files"]}


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snapshot", type=Path, default=SNAPSHOT, help="file to refresh (default: %(default)s)")
    ap.add_argument("--from-dir", type=Path, help="read <project>.json documents from this folder, not PyPI")
    ap.add_argument("--dry-run", action="store_true", help="print the summary, write nothing")
    ap.add_argument(
        "--crawl", metavar="BASE", help="also read a PyTorch-style index (e.g. https://download.pytorch.org/whl)"
    )
    args = ap.parse_args(argv)

    def from_dir(project: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((args.from_dir / f"{project}.json").read_text())
        return data

    snapshot = json.loads(args.snapshot.read_text())
    today = dt.date.today().isoformat()
    new, summary = refresh(snapshot, from_dir if args.from_dir else fetch_pypi, today)
    if args.crawl:
        from torchpin.errors import TorchpinError

        try:
            pages = crawl(args.crawl, new)
        except TorchpinError as e:
            print(f"refresh: error: --crawl {args.crawl}: {e}; nothing written", file=sys.stderr)
            return 4
        new, crawled = crawl_update(new, pages)
        summary += crawled
        if new != snapshot:
            new["snapshot_date"] = today
    for line in summary or ["no changes"]:
        print(f"refresh: {line}", file=sys.stderr)
    if not args.dry_run and new != snapshot:
        tmp = args.snapshot.with_suffix(".json.tmp")
        tmp.write_text(dump(new))
        tmp.replace(args.snapshot)
        print(f"refresh: wrote {args.snapshot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
