"""Turn what the smoke test saw into verdicts, causes and fix commands (pure).

Inputs: the raw findings of ``verify_script`` in the target interpreter, what the lock
expects, and what ``detect`` knows about the machine. Output: the design's stable check
ids with pass / warn / fail / skip, each failure with the command that fixes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from torchpin.models import FLASH_ATTN, PYG, TRIO, CheckStatus

from .failures import PATTERNS, classify
from .matching import Matching, installed_version, other_build

__all__ = ["CHECK_IDS", "PATTERNS", "Check", "Expect", "classify", "evaluate", "variant_of"]

CHECK_IDS = (
    "interpreter",
    "installed-set",
    "import",
    "build-identity",
    "arch-coverage",
    "companions",
    "ecosystem",
    "audio-io",
    "cpu-half",
    "gpu-half",
    "cudnn-rnn",
    "gpu-compute",
)


@dataclass(frozen=True)
class Check:
    id: str
    status: CheckStatus
    detail: str
    fix: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Expect:
    """What should be installed: from the lock, else derived from the installed torch."""

    pins: Mapping[str, str] = field(default_factory=dict)  # project -> exact version
    variant: str | None = None  # cpu, cu126, rocm6.4 …
    index_url: str | None = None
    gpu_kind: str = "none"  # what detect found: none | cuda | rocm | xpu | mps
    driver_cuda: str | None = None  # newest CUDA the driver runs, e.g. "12.8"
    docker_build: bool = False
    locked: bool = False  # pins come from a lock (else from the installed torch's pairing)
    # flash-attn and PyG's extensions installed: the wheel of each that matches the installed torch
    matching: Mapping[str, Matching] = field(default_factory=dict)

    def install_command(self, projects: Sequence[str] | None = None) -> str:
        names = projects or list(self.pins) or list(TRIO)
        reqs = " ".join(f"{n}=={self.pins[n]}" if n in self.pins else n for n in names)
        backend = f" --backend {self.variant}" if self.variant else ""
        return f"torchpin install {reqs}{backend}"


def variant_of(version_py: Mapping[str, Any]) -> str | None:
    """A build's variant from its version.py: the local tag, else the cuda / hip field."""
    version = str(version_py.get("__version__") or "")
    if "+" in version:
        return version.split("+", 1)[1]
    if version_py.get("cuda"):
        return "cu" + str(version_py["cuda"]).replace(".", "")
    if version_py.get("hip"):
        return "rocm" + ".".join(str(version_py["hip"]).split(".")[:2])
    return "cpu" if version else None


def evaluate(raw: Sequence[Mapping[str, Any]], expect: Expect, env_warnings: Sequence[str] = ()) -> list[Check]:
    """One Check per design id, in the cheap-first order of ``CHECK_IDS``."""
    by_id = {r["id"]: r for r in raw}
    checks = [
        _interpreter(by_id.get("interpreter"), by_id.get("installed-set"), env_warnings),
        _installed(by_id.get("installed-set"), expect),
        _import(by_id.get("import"), expect),
        _identity(by_id.get("build-identity"), expect),
        _passthrough("arch-coverage", by_id.get("arch-coverage"), expect),
        _companions(by_id.get("companion:torchvision"), by_id.get("companion:torchaudio"), expect),
        _ecosystem(
            [r for r in raw if str(r["id"]).startswith("ecosystem:")],
            by_id.get("import"),
            by_id.get("build-identity"),
            expect,
        ),
        _passthrough("audio-io", by_id.get("audio-io"), expect),
        _cpu_half(by_id.get("cpu-half")),
        *(_passthrough(cid, by_id.get(cid), expect) for cid in ("gpu-half", "cudnn-rnn", "gpu-compute")),
    ]
    return checks


def _missing(cid: str) -> Check:
    return Check(cid, "skip", "not run: torch could not be imported")


def _with_fix(cid: str, status: CheckStatus, detail: str, text: str, expect: Expect) -> Check:
    found = classify(text)
    if not found:
        return Check(cid, status, detail, fix=expect.install_command() if status == "fail" else None)
    fm, cause, template = found
    if fm == "FM-33":
        codec = expect.pins.get("torchcodec")
        fix = f"{expect.install_command(['torch', 'torchaudio', 'torchcodec'])}" if codec else "pip install torchcodec"
        fix += "  (and install FFmpeg 4-8)" if "libtorchcodec" in text else ""
    else:
        fix = template.format(install=expect.install_command()) if template else expect.install_command()
    return Check(cid, status, f"{detail} [{fm}]", fix=fix, cause=cause)


def _interpreter(raw: Mapping[str, Any] | None, installed: Mapping[str, Any] | None, env: Sequence[str]) -> Check:
    if raw is None:
        return Check("interpreter", "fail", "the target interpreter did not run the checks")
    facts = raw["raw"]
    problems: list[str] = []
    if facts["implementation"] != "cpython":
        problems.append(f"{facts['implementation']} has no PyTorch wheels")
    if facts["bits"] != 64:
        problems.append("a 32-bit Python has no PyTorch wheels")
    torch = ((installed or {}).get("raw", {}).get("dists", {}).get("torch") or [{}])[0]
    rp = torch.get("requires_python")
    try:
        if rp and Version(facts["version"]) not in SpecifierSet(rp):
            problems.append(f"torch {torch.get('version')} requires Python {rp}")
    except (InvalidSpecifier, InvalidVersion):
        pass
    if problems:
        return Check("interpreter", "fail", "; ".join(problems), fix="use a 64-bit CPython that torch supports")
    warns = list(env)
    origin = ((installed or {}).get("raw", {}).get("builds", {}).get("torch") or {}).get("origin") or ""
    if origin and facts["user_site"] and origin.startswith(facts["user_site"]):
        warns.append(f"torch is imported from the user site ({facts['user_site']}), shadowing the environment's")
    elif origin and facts["pythonpath"] and not origin.startswith(facts["prefix"]):
        warns.append(f"PYTHONPATH puts another torch first: {origin}")
    cuda_dirs = [p for p in facts["ld_library_path"].split(":") if re.search(r"cuda|cudnn|nvidia|/opt/conda/lib", p)]
    if cuda_dirs:
        warns.append(f"LD_LIBRARY_PATH has CUDA libraries ({', '.join(cuda_dirs)}) that can shadow torch's own [FM-12]")
    detail = f"CPython {facts['version']}, {facts['bits']}-bit" + (", free-threaded" if facts["freethreaded"] else "")
    if warns:
        return Check("interpreter", "warn", detail + "; " + "; ".join(warns), fix="see the warnings above")
    return Check("interpreter", "pass", detail + "; environment clean")


def _installed(raw: Mapping[str, Any] | None, expect: Expect) -> Check:
    if raw is None:
        return _missing("installed-set")
    dists, builds = raw["raw"]["dists"], raw["raw"]["builds"]
    torch = dists.get("torch", [])
    if not torch:
        return Check("installed-set", "fail", "torch is not installed", fix=expect.install_command())
    if len(torch) > 1:
        where = ", ".join(f"{d['version']} in {d['location']}" for d in torch)
        fix = "pip uninstall -y torch (repeat until none is left), then " + expect.install_command()
        return Check("installed-set", "fail", f"{len(torch)} torch installations: {where} [FM-05]", fix=fix)
    problems: list[str] = []
    for name, pinned in expect.pins.items():
        have = [installed_version(d) for d in dists.get(name, [])]
        if not have:
            problems.append(f"{name} {pinned} is locked but not installed")
        elif Version(have[0]) != Version(pinned):
            problems.append(f"{name} {have[0]} is installed, the lock says {pinned}")
    torch_variant = variant_of(builds.get("torch", {}).get("version_py", {}))
    for name in ("torchvision", "torchaudio", "torchcodec"):
        vp = builds.get(name, {}).get("version_py")
        if not vp or name not in dists:
            continue
        variant = variant_of(vp)
        if torch_variant and variant and variant != torch_variant:
            problems.append(
                f"{name} {dists[name][0]['version']} is a {variant} build but torch "
                f"{torch[0]['version']} is a {torch_variant} build [FM-04]"
            )
    others = [n for n in (FLASH_ATTN, *PYG) if n in dists and torch_variant]
    built = {
        n: other_build(n, installed_version(dists[n][0]), torch[0]["version"], torch_variant or "") for n in others
    }
    problems += [f"{said} [FM-04]" for said in built.values() if said]
    summary = ", ".join(f"{n} {installed_version(d[0])}" for n, d in sorted(dists.items()))
    if problems:
        return Check(
            "installed-set",
            "fail",
            "; ".join(problems),
            fix=_reinstall(expect, [n for n, said in built.items() if said], list(expect.pins) or list(TRIO)),
            cause="torch family from different indexes, variants or releases",
        )
    return Check("installed-set", "pass", summary + (" (as locked)" if expect.locked else ""))


def _import(raw: Mapping[str, Any] | None, expect: Expect) -> Check:
    if raw is None:
        return _missing("import")
    if raw["status"] == "fail":
        text = raw["raw"].get("error", "") + "\n" + raw["raw"].get("traceback", "")
        return _with_fix("import", "fail", raw["detail"], text, expect)
    warnings = raw["raw"].get("warnings", [])
    numpy = [w for w in warnings if "NumPy" in w or "numpy" in w]
    if numpy:
        if "No module named 'numpy'" in numpy[0]:
            return Check(
                "import",
                "warn",
                f"{raw['detail']}; NumPy is not installed: tensor.numpy() will fail",
                fix="pip install numpy",
            )
        return _with_fix("import", "warn", f"{raw['detail']}; {numpy[0][:120]}", numpy[0], expect)
    return Check("import", "pass", raw["detail"])


def _identity(raw: Mapping[str, Any] | None, expect: Expect) -> Check:
    if raw is None:
        return _missing("build-identity")
    f = raw["raw"]
    variant = variant_of({"__version__": f["version"], "cuda": f["cuda"], "hip": f["hip"]})
    text = " ".join([str(f.get("cuda_error", "")), *f.get("cuda_warnings", [])])
    problems = []
    if expect.pins.get("torch") and Version(f["version"]) != Version(expect.pins["torch"]):
        problems.append(f"torch {f['version']} runs, the lock says {expect.pins['torch']}")
    if expect.gpu_kind == "cuda" and not f["cuda"] and expect.variant != "cpu":
        problems.append(f"a CPU build (torch {f['version']}) on a machine with an NVIDIA GPU [FM-01]")
    driver_major = int(expect.driver_cuda.split(".")[0]) if expect.driver_cuda else None
    if f["cuda"] and driver_major is not None and int(f["cuda"].split(".")[0]) > driver_major:
        problems.append(
            f"torch is built for CUDA {f['cuda']}, the driver runs CUDA {expect.driver_cuda} at most [FM-06]"
        )
    if classify(text):
        return _with_fix("build-identity", "fail", f"torch {f['version']}: {text.strip()[:200]}", text, expect)
    if problems:
        return Check("build-identity", "fail", "; ".join(problems), fix=expect.install_command())
    device = f"GPUs: {', '.join(d['name'] for d in f['devices'])}" if f["devices"] else "no GPU visible"
    return Check("build-identity", "pass", f"torch {f['version']} ({variant} build); {device}")


def _companions(tv: Mapping[str, Any] | None, ta: Mapping[str, Any] | None, expect: Expect) -> Check:
    parts = [r for r in (tv, ta) if r is not None]
    if not parts:
        return _missing("companions")
    failed = [r for r in parts if r["status"] == "fail"]
    if failed:
        text = "\n".join(r["raw"].get("error", "") + "\n" + r["raw"].get("traceback", "") for r in failed)
        return _with_fix("companions", "fail", "; ".join(r["detail"][:200] for r in failed), text, expect)
    if all(r["status"] == "skip" for r in parts):
        return Check("companions", "skip", "torchvision and torchaudio are not installed")
    return Check("companions", "pass", "; ".join(r["detail"] for r in parts if r["status"] == "pass"))


def _ecosystem(
    parts: Sequence[Mapping[str, Any]],
    imported: Mapping[str, Any] | None,
    identity: Mapping[str, Any] | None,
    expect: Expect,
) -> Check:
    """xformers, flash-attn, PyG …: a failure names the package, reads the missing symbol for the C++
    ABI it was compiled with, names the wheel that matches, and the fix pairs it with torch again."""
    if imported is None or imported["status"] == "fail":
        return _missing("ecosystem")
    if not parts:
        return Check("ecosystem", "skip", "no ecosystem package (xformers, torch-tensorrt) is installed")
    failed = [r for r in parts if r["status"] == "fail"]
    if not failed:
        status: CheckStatus = "skip" if all(r["status"] == "skip" for r in parts) else "pass"
        return Check("ecosystem", status, "; ".join(r["detail"] for r in parts))
    texts = {
        str(r["id"]).split(":", 1)[1]: r["raw"].get("error", "") + "\n" + r["raw"].get("traceback", "") for r in failed
    }
    names = list(texts)
    detail = "; ".join(r["detail"][:200] for r in failed)
    found = classify("\n".join(texts.values()))
    fm = found[0] if found else "FM-04"
    facts = (identity or {}).get("raw", {})
    torch = f"torch {facts.get('version', '?')}"
    readings = [r for n in names if (r := _abi_reading(n, texts[n], torch, facts.get("cxx11_abi")))]
    cause = (
        found[1]
        if found and found[0] != "FM-04"
        else "; ".join(readings)
        or f"{' and '.join(names)} {'was' if len(names) == 1 else 'were'} built against another torch than this one"
    )
    matched = [expect.matching[n] for n in names if n in expect.matching]
    cause += "".join(
        f"; the matching wheel ({m.why}): {m.wheel}" if m.wheel else f"; no wheel matches: {m.why}" for m in matched
    )
    return Check("ecosystem", "fail", f"{detail} [{fm}]", fix=_reinstall(expect, names), cause=cause)


def _reinstall(expect: Expect, names: Sequence[str], base: Sequence[str] = ("torch",)) -> str:
    """The command that installs ``names`` paired with the installed torch again; where no wheel of
    one matches that torch build, torchpin chooses torch too."""
    if any(expect.matching[n].wheel is None for n in names if n in expect.matching):
        return f"torchpin install torch {' '.join(names)}"
    return expect.install_command(list(dict.fromkeys([*base, *names])))


# A source name in a mangled symbol (``5torch``, ``17parseSchemaOrName``): skipped before looking
# for ``Ss``, the old ABI's std::string, so an identifier containing those letters can't match.
_SOURCE_NAME = re.compile(r"(\d+)")


def symbol_abi(symbol: str) -> bool | None:
    """The C++ ABI a missing mangled symbol was compiled with: True for ``std::__cxx11`` types,
    False for the old ABI's ``std::string`` (``Ss``), None when it names no string type."""
    if "__cxx11" in symbol:
        return True
    if not symbol.startswith("_Z"):
        return None
    rest, prev, i = [], "", 2
    while i < len(symbol):
        m = _SOURCE_NAME.match(symbol, i)
        if m and prev not in ("S", "T"):  # S0_ and T0_ are back-references, not names
            i, prev = m.end() + int(m[1]), "name"
            continue
        rest.append(symbol[i])
        prev, i = symbol[i], i + 1
    return False if "Ss" in "".join(rest) else None


def _abi_reading(name: str, text: str, torch: str, torch_abi: bool | None) -> str | None:
    """What a missing symbol says about the C++ ABI mismatch: the _GLIBCXX_USE_CXX11_ABI flag, or a
    build for another torch (the flag agrees, or the symbol names no string type)."""
    m = re.search(r"undefined symbol: ([\w.@$]+)", text)
    if not m:
        return None
    built = symbol_abi(m[1])
    if built is not None and torch_abi is not None and built != torch_abi:
        return f"a C++ ABI mismatch: {name} was compiled with {_ABI[built]}, {torch} {_ABI_TORCH[torch_abi]}"
    if built is not None and torch_abi is None:
        return (
            f"a C++ ABI mismatch: {name} was compiled with {_ABI[built]}; {torch} didn't say which it has,"
            " so the flag or another torch release"
        )
    flag = "its _GLIBCXX_USE_CXX11_ABI agrees with torch's" if built is not None else "a symbol of torch's own"
    return (
        f"a C++ ABI mismatch: {name} was built for another torch release or CUDA than {torch}"
        f" (it lacks {m[1][:80]}, {flag})"
    )


_ABI = {
    True: "the C++11 ABI (its missing symbol has std::__cxx11)",
    False: "the old C++ ABI (its missing symbol has the pre-cxx11 std::string, Ss)",
}
_ABI_TORCH = {True: "with the C++11 one (_GLIBCXX_USE_CXX11_ABI=1)", False: "without it (_GLIBCXX_USE_CXX11_ABI=0)"}


def _cpu_half(raw: Mapping[str, Any] | None) -> Check:
    if raw is None:
        return _missing("cpu-half")
    if raw["status"] == "warn":
        fix = "run CPU fallbacks in float32 (model.float()); use half precision on the GPU only"
        return Check("cpu-half", "warn", raw["detail"] + " [FM-32]", fix=fix)
    return Check("cpu-half", raw["status"], raw["detail"])


def _passthrough(cid: str, raw: Mapping[str, Any] | None, expect: Expect) -> Check:
    if raw is None:
        return _missing(cid)
    if raw["status"] == "skip":
        reason = raw["detail"]
        expects_gpu = expect.gpu_kind not in ("none", "mps") or (expect.variant or "cpu") not in ("cpu",)
        if "no GPU" in reason and (expect.docker_build or expects_gpu):
            reason = (
                "deferred: no GPU visible (a docker build or a container without --gpus?); run verify where the GPU is"
            )
        return Check(cid, "skip", reason)
    if raw["status"] == "fail":
        text = raw["raw"].get("error", "") + "\n" + raw["raw"].get("traceback", "") + "\n" + raw["detail"]
        return _with_fix(cid, "fail", raw["detail"], text, expect)
    return Check(cid, raw["status"], raw["detail"])
