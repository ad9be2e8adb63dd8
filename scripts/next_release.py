"""Write the snapshot as it will look the day the next torch ships, to check that no test assumes
which release is the newest.

The newest torch release is copied one minor up with all of its builds and facts, and its newest
torchvision one minor up pinned to it (the other companions' declared ranges already admit it).
Run the suite against it:

    python scripts/next_release.py /tmp/next.json
    cp /tmp/next.json data/wheel_index.json && scripts/test   # in a scratch checkout

A test that fails there hard-codes the newest release; derive it from the snapshot instead.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from packaging.version import Version

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "wheel_index.json"


def bump(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor + 1}.0"


def _renamed(body: dict[str, Any], project: str, old: str, new: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    files = []
    for f in out.get("files", []):
        name = f["filename"].replace(f"{project}-{old}-", f"{project}-{new}-")
        # A fresh digest per file: the same bytes under two names would be a different fact.
        files.append(
            {
                **f,
                "filename": name,
                "sha256": hashlib.sha256(name.encode()).hexdigest(),
                "url": f["url"].replace(f["filename"], name),
            }
        )
    out["files"] = files
    out["uploaded"] = "2099-01-01"
    return out


def next_release(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    world = copy.deepcopy(doc)
    torch_old = max(world["releases"], key=Version)
    torch_new = bump(torch_old)
    rel = copy.deepcopy(world["releases"][torch_old])
    rel["date"] = "2099-01-01"
    vision = rel["companions"]["torchvision"]
    vision_old, vision_new = vision["version"], bump(vision["version"])
    vision.update(version=vision_new, built_with=torch_new)
    for comp in rel["companions"].values():
        if comp.get("built_with") == torch_old:
            comp["built_with"] = torch_new
    world["releases"][torch_new] = rel
    torches = world["projects"]["torch"]
    torches[torch_new] = _renamed(torches[torch_old], "torch", torch_old, torch_new)
    body = _renamed(world["projects"]["torchvision"][vision_old], "torchvision", vision_old, vision_new)
    body["requires_torch"] = f"=={torch_new}"
    world["projects"]["torchvision"][vision_new] = body
    for f in list(world.get("variant_files", [])):
        url = f["url"]
        for project, old, new in (("torch", torch_old, torch_new), ("torchvision", vision_old, vision_new)):
            stem = f"/{project}-{old}%2B"
            if stem in url or f"/{project}-{old}-" in url:
                moved = url.replace(f"/{project}-{old}", f"/{project}-{new}")
                world["variant_files"].append({**f, "url": moved, "sha256": hashlib.sha256(moved.encode()).hexdigest()})
    return world, torch_new


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/next_release.py OUT.json", file=sys.stderr)
        return 2
    world, new = next_release(json.loads(SNAPSHOT.read_text()))
    Path(argv[0]).write_text(json.dumps(world, indent=1, sort_keys=True) + "\n")
    print(f"wrote {argv[0]}: torch {new} added", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
