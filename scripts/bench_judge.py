"""Would this build run on that machine? Judged from the snapshot's facts alone (the builds each
release has, their GPU code, the CUDA drivers' floors, ROCm's GPU lists), not from any tool's
policy, so torchpin is judged by the same rules as its peers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from tests.support.lab import Machine

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "wheel_index.json"
RUNS, INFERRED, CPU_ONLY, FAILS = "runs", "inferred", "cpu-only", "fails"


def _ver(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


class Judge:
    def __init__(self, snapshot: Path = SNAPSHOT) -> None:
        self.doc: dict[str, Any] = json.loads(snapshot.read_text())

    def platform(self, m: Machine) -> str:
        return {"linux": f"linux_{m.arch}", "windows": "win_amd64", "macos": f"macos_{m.arch}"}[m.os]

    def verdict(self, m: Machine, pins: dict[str, str]) -> tuple[str, str]:
        """(runs | cpu-only | fails, why) for the torch family ``pins`` on machine ``m``."""
        torch = pins.get("torch")
        if not torch:
            return FAILS, "no torch was picked"
        public, _, local = torch.partition("+")
        release = self.doc["releases"].get(public)
        plat = self.platform(m)
        if release is None:
            return FAILS, f"torch {public} is not a release"
        variant = local or ("cpu" if plat.startswith(("macos", "win")) else release["pypi_default"].get(plat, "cpu"))
        build = release["variants"].get(variant, {}).get(plat)
        if build is None:
            return FAILS, f"no {variant} build of torch {public} for {plat}"
        companions = self._companions(public, local, plat, pins)
        if companions and companions[0] == FAILS:
            return companions
        verdict = self._device(m, variant, build)
        if companions and verdict[0] == RUNS:  # a companion build nothing has listed: not a fact either
            return companions
        return verdict

    def _device(self, m: Machine, variant: str, build: dict[str, Any]) -> tuple[str, str]:
        amd = [g.gfx for g in m.gpus if g.gfx]
        if variant.startswith("cu"):
            if not m.nvidia:
                return CPU_ONLY, f"{variant} build without an NVIDIA GPU (runs on the CPU, GBs of CUDA libraries)"
            return self._cuda(m, variant, build)
        if variant.startswith("rocm"):
            gfx = set(self.doc["rocm"].get(variant, {}).get("gfx", []))
            missing = [g for g in amd if g not in gfx]
            if not amd:
                return FAILS, f"{variant} build without an AMD GPU"
            return (FAILS, f"{variant} has no kernels for {', '.join(missing)}") if missing else (RUNS, variant)
        if variant == "xpu":  # no Intel GPU among the lab's machines
            return CPU_ONLY, "xpu build without an Intel GPU"
        if m.nvidia or amd:
            return CPU_ONLY, f"{variant} build: the GPU is left unused"
        return RUNS, variant

    def _cuda(self, m: Machine, variant: str, build: dict[str, Any]) -> tuple[str, str]:
        info = self.doc["cuda"]["variants"].get(variant, {})
        major = str(info.get("cuda", variant[2:-1] or "0")).split(".")[0]
        floor = self.doc["cuda"]["minor_compat"].get(major, {}).get("windows" if m.os == "windows" else "linux")
        if floor and m.driver and _ver(m.driver) < _ver(floor):
            return FAILS, f"driver {m.driver} < {floor}, the floor of CUDA {major}.x ({variant})"
        arch = build.get("arch")
        if not arch:
            return INFERRED, f"{variant}'s GPU code is not recorded"
        sass = [_ver(s) for s in arch.get("sass", [])]
        ptx = _ver(arch["ptx"]) if arch.get("ptx") else None
        for gpu in m.nvidia:
            cc = _ver(str(gpu.cc))
            if not any(s[0] == cc[0] and s <= cc for s in sass) and not (ptx and ptx <= cc):
                have = ", ".join(f"sm_{s[0]}{s[1]}" for s in sass)
                return FAILS, f"{variant} has no kernels for sm_{cc[0]}{cc[1]} ({gpu.name}; it has {have})"
        if arch.get("status") == "unconfirmed":  # carried over from an older release, not read from this wheel
            return INFERRED, f"runs if {variant}'s GPU list, inferred from older releases ({arch.get('source')}), holds"
        return RUNS, variant

    def _companions(self, public: str, local: str, plat: str, pins: dict[str, str]) -> tuple[str, str] | None:
        """FAILS when a companion is another build or for another torch; INFERRED when its build
        for this variant is only assumed (a release newer than the recorded pairing, which no
        index page has listed); None when every companion's build is on record."""
        inferred = None
        for project in ("torchvision", "torchaudio"):
            if project not in pins:
                continue
            base, _, clocal = pins[project].partition("+")
            if clocal != local:
                return FAILS, f"{project} {pins[project]} is another build than torch {public}+{local or '(untagged)'}"
            known = self.doc["projects"].get(project, {}).get(base, {})
            spec = known.get("requires_torch")
            paired = any(
                r.get("companions", {}).get(project, {}).get("version") == base and v == public
                for v, r in self.doc["releases"].items()
            )
            try:
                declared_ok = spec is not None and Version(public) in SpecifierSet(spec)
            except InvalidSpecifier:
                declared_ok = False
            if not (paired or declared_ok):
                return FAILS, f"{project} {base} is built for another torch than {public}"
            if not local:  # PyPI's own file: its file list is the fact
                continue
            have = self._companion_build(project, base, local, plat)
            if have == FAILS:
                return FAILS, f"{project} {base} has no {local} build for {plat}"
            if have == INFERRED:
                inferred = inferred or (INFERRED, f"runs if {project} {base} has a {local} build (not on record)")
        return inferred

    def _companion_build(self, project: str, version: str, variant: str, plat: str) -> str:
        """RUNS if a recorded pairing of this companion release has the build, INFERRED if it is only
        assumed (a build of unconfirmed status, or a release no pairing records), FAILS if the
        recorded pairings show it has none."""
        pairings = [
            r["companions"][project]
            for r in self.doc["releases"].values()
            if r.get("companions", {}).get(project, {}).get("version") == version
        ]
        if not pairings:
            return INFERRED
        found = INFERRED if any(variant in p.get("extra_variants", []) for p in pairings) else FAILS
        for pair in pairings:
            if variant in pair.get("extra_variants", []) and pair.get("status") != "unconfirmed":
                return RUNS
            source = self.doc["releases"].get(pair.get("built_with", ""), {})
            build = source.get("variants", {}).get(variant, {}).get(plat)
            if build is not None:
                if build.get("status") != "unconfirmed" and pair.get("status") != "unconfirmed":
                    return RUNS
                found = INFERRED
        return found

    def newest(
        self, m: Machine, accept: tuple[str, ...] = (RUNS,), companions: tuple[str, ...] = ("torchvision", "torchaudio")
    ) -> tuple[str, list[str]]:
        """The newest release whose build runs (on the GPU, where there is one) with its recorded
        ``companions`` of the same build, and those builds; ``accept=(RUNS, INFERRED)`` also counts
        builds whose GPU list is only inferred."""
        plat = self.platform(m)
        for public in sorted(self.doc["releases"], key=Version, reverse=True):
            release = self.doc["releases"][public]
            good = []
            for variant, builds in release["variants"].items():
                if plat not in builds:
                    continue
                local = "" if variant == "cpu" and plat in release.get("untagged_cpu", []) else variant
                pins = {"torch": f"{public}+{local}" if local else public}
                for project in companions:
                    pair = release.get("companions", {}).get(project)
                    if pair:
                        pins[project] = f"{pair['version']}+{local}" if local else pair["version"]
                if self.verdict(m, pins)[0] in accept:
                    good.append(variant)
            if good:
                return public, sorted(good)
        return "", []
