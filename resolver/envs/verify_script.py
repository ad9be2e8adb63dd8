"""The smoke test that runs inside the *target* interpreter; the only code that imports torch.

Standalone (standard library + torch family): the target environment need not have
torchpin. Reads one JSON argument, prints one JSON object after a marker line. Each
check records what it saw; torchpin decides pass/fail and the fix in its own process.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import io
import json
import os
import re
import site
import struct
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
import warnings
from contextlib import redirect_stderr
from typing import Any

MARKER = "@@torchpin-verify@@"


def _sibling(name: str) -> Any:
    """A module beside this file, loaded by path: sys.path stays the target interpreter's own."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"torchpin_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


extensions = _sibling("verify_extensions")
FAMILY = ("torch", "torchvision", "torchaudio", "torchcodec", "triton", *(d for d, _ in extensions.ECOSYSTEM))
results: list[dict[str, Any]] = []


def record(cid: str, status: str, detail: str, **raw: Any) -> None:
    results.append({"id": cid, "status": status, "detail": detail, "raw": raw})


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def interpreter() -> None:
    record(
        "interpreter",
        "info",
        f"{sys.implementation.name} {sys.version.split()[0]}, {struct.calcsize('P') * 8}-bit",
        implementation=sys.implementation.name,
        version=f"{sys.version_info.major}.{sys.version_info.minor}",
        bits=struct.calcsize("P") * 8,
        freethreaded=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        executable=sys.executable,
        platform=sysconfig.get_platform(),
        prefix=sys.prefix,
        pythonpath=os.environ.get("PYTHONPATH", ""),
        user_site=site.getusersitepackages() if site.ENABLE_USER_SITE else "",
        ld_library_path=os.environ.get("LD_LIBRARY_PATH", ""),
    )


def installed_set() -> None:
    """What is installed, read from metadata and version.py files: nothing is imported."""
    dists: dict[str, list[dict[str, Any]]] = {}
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name in FAMILY:
            try:
                installer = (dist.read_text("INSTALLER") or "").strip()
            except OSError:
                installer = ""
            dists.setdefault(name, []).append(
                {
                    "version": dist.version,
                    "location": str(dist.locate_file("")),
                    "installer": installer,
                    "requires": dist.requires or [],
                    "requires_python": dist.metadata["Requires-Python"],
                    "url": _direct_url(dist),
                }
            )
    builds: dict[str, dict[str, Any]] = {}
    for name in FAMILY:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            path = os.path.join(next(iter(spec.submodule_search_locations)), "version.py")
            builds[name] = {"origin": spec.origin, "version_py": _version_py(path)}
    record(
        "installed-set",
        "info",
        ", ".join(f"{n} {d[0]['version']}" for n, d in dists.items()),
        dists=dists,
        builds=builds,
    )


def _direct_url(dist: Any) -> str:
    """The file a URL install came from (PEP 610): flash-attn's name carries its build, its METADATA doesn't."""
    try:
        return str(json.loads(dist.read_text("direct_url.json") or "{}").get("url", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _version_py(path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^(__version__|cuda|hip|rocm|xpu|git_version)\s*(?::\s*\S+)?\s*=\s*(.+)$", line.strip())
                if m:
                    value = m[2].strip()
                    out[m[1]] = None if value == "None" else value.strip("'\"")
    except OSError:
        pass
    return out


def import_torch() -> Any:
    err = io.StringIO()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            import torch
        except BaseException as e:
            record("import", "fail", _err(e), error=_err(e), traceback=traceback.format_exc()[-3000:])
            return None
    seconds = time.perf_counter() - start
    messages = [str(w.message) for w in caught] + [line for line in err.getvalue().splitlines() if line.strip()]
    record("import", "pass", f"import torch took {seconds:.1f} s", seconds=seconds, warnings=messages[:20])
    return torch


def build_identity(torch: Any) -> dict[str, Any]:
    facts = {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "hip": getattr(torch.version, "hip", None),
        "xpu": getattr(torch.version, "xpu", None),
        "cuda_built": torch.backends.cuda.is_built(),
        "cuda_available": False,
        "devices": [],
        "arch_list": [],
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        # Extensions from other hosts (flash-attn, PyG) must be compiled with the same libstdc++ ABI.
        "cxx11_abi": _cxx11_abi(torch),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            facts["cuda_available"] = torch.cuda.is_available()
            if facts["cuda_available"]:
                facts["devices"] = [
                    {"name": torch.cuda.get_device_name(i), "cc": list(torch.cuda.get_device_capability(i))}
                    for i in range(torch.cuda.device_count())
                ]
                facts["arch_list"] = torch.cuda.get_arch_list()
        except BaseException as e:
            facts["cuda_error"] = _err(e)
    facts["cuda_warnings"] = [str(w.message) for w in caught]
    record("build-identity", "info", f"torch {facts['version']} (cuda={facts['cuda']}, hip={facts['hip']})", **facts)
    return facts


def _cxx11_abi(torch: Any) -> bool | None:
    try:
        return bool(torch.compiled_with_cxx11_abi())
    except BaseException:
        abi = getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", None)
        return None if abi is None else bool(abi)


def arch_coverage(facts: dict[str, Any]) -> None:
    if not facts["cuda_available"]:
        record("arch-coverage", "skip", "no GPU visible to torch")
        return
    arch = facts["arch_list"]
    missing = []
    for dev in facts["devices"]:
        major, minor = dev["cc"]
        ok = any(
            (a.startswith("sm_") and int(a[3:-1] or 0) == major and int(a[-1]) <= minor)
            or (a.startswith("compute_") and (int(a[8:-1]), int(a[-1])) <= (major, minor))
            for a in arch
            if re.fullmatch(r"(sm|compute)_\d+", a)
        )
        if not ok:
            missing.append(f"{dev['name']} (sm_{major}{minor})")
    if missing:
        record("arch-coverage", "fail", f"no kernels for {', '.join(missing)}; built for {' '.join(arch)}", arch=arch)
    else:
        record("arch-coverage", "pass", f"every GPU covered by {' '.join(arch)}", arch=arch)


def companions(torch: Any, gpu: bool) -> None:
    for name in ("torchvision", "torchaudio"):
        if importlib.util.find_spec(name) is None:
            record(f"companion:{name}", "skip", f"{name} is not installed")
            continue
        try:
            mod = __import__(name)
            if name == "torchvision":
                cuda = mod.extension._check_cuda_version()
                boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
                keep = mod.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
                detail = f"torchvision {mod.__version__}: nms on CPU kept {keep.tolist()}"
                if gpu:
                    keep = mod.ops.nms(boxes.cuda(), torch.tensor([0.9, 0.8]).cuda(), 0.5)
                    detail += f"; on CUDA kept {keep.cpu().tolist()}"
                record("companion:torchvision", "pass", detail, version=mod.__version__, cuda=cuda)
            else:
                record("companion:torchaudio", "pass", f"torchaudio {mod.__version__} imports", version=mod.__version__)
        except BaseException as e:
            record(f"companion:{name}", "fail", _err(e), error=_err(e), traceback=traceback.format_exc()[-2000:])


def audio_io(torch: Any, gpu: bool) -> None:
    if importlib.util.find_spec("torchaudio") is None:
        record("audio-io", "skip", "torchaudio is not installed")
        return
    try:
        import torchaudio

        rate = 32000
        wave = torch.sin(torch.linspace(0, 440 * 2 * 3.14159, rate // 10)).unsqueeze(0)
        if gpu:
            wave = wave.cuda() * 0.5  # produced on the GPU, as voice apps do …
            wave = wave.cpu()  # … and moved to the CPU before any file I/O
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "probe.wav")
            torchaudio.save(path, wave, rate)
            back, back_rate = torchaudio.load(path)
        ok = tuple(back.shape) == tuple(wave.shape) and back_rate == rate
        detail = f"wrote and read {tuple(wave.shape)} at {rate} Hz: got {tuple(back.shape)} at {back_rate} Hz"
        record("audio-io", "pass" if ok else "fail", detail)
    except BaseException as e:
        record("audio-io", "fail", _err(e), error=_err(e), traceback=traceback.format_exc()[-2000:])


def cpu_half(torch: Any) -> None:
    ops = {
        "matmul": lambda t: torch.ones(8, 8, dtype=t) @ torch.ones(8, 8, dtype=t),
        "conv2d": lambda t: torch.nn.functional.conv2d(
            torch.ones(1, 1, 8, 8, dtype=t), torch.ones(1, 1, 3, 3, dtype=t)
        ),
        "layer_norm": lambda t: torch.nn.functional.layer_norm(torch.ones(4, 8, dtype=t), (8,)),
        "stft": lambda t: torch.stft(
            torch.ones(1024, dtype=t), 256, window=torch.hann_window(256, dtype=t), return_complex=True
        ),
    }
    failed: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ComplexHalf "experimental" notes are not findings
        for dtype in (torch.float16, torch.bfloat16):
            for op, fn in ops.items():
                try:
                    fn(dtype)
                except BaseException as e:
                    failed[f"{op}/{str(dtype).split('.')[-1]}"] = _err(e)
    worked = [f"{op}/{d}" for d in ("float16", "bfloat16") for op in ops if f"{op}/{d}" not in failed]
    status = "warn" if failed else "pass"
    detail = f"half precision on CPU: works {', '.join(worked) or 'nothing'}"
    if failed:
        detail += f"; fails {', '.join(failed)}"
    record("cpu-half", status, detail, failed=failed)


def gpu_checks(torch: Any, facts: dict[str, Any]) -> None:
    if not facts["cuda_available"]:
        for cid in ("gpu-half", "cudnn-rnn", "gpu-compute"):
            record(cid, "skip", "no GPU visible to torch")
        return
    try:
        a = torch.randn(256, 256, device="cuda")
        out = {}
        for dtype in (torch.float16, torch.bfloat16):
            x = a.to(dtype)
            out[str(dtype)] = float((x @ x).float().abs().sum())
            torch.nn.functional.conv2d(x.view(1, 1, 256, 256), torch.ones(1, 1, 3, 3, device="cuda", dtype=dtype))
        torch.cuda.synchronize()
        record("gpu-half", "pass", "fp16 and bf16 matmul and conv2d ran on the GPU")
    except BaseException as e:
        record("gpu-half", "fail", _err(e), error=_err(e))
    try:
        version = torch.backends.cudnn.version()
        conv = torch.nn.Conv1d(4, 4, 3).cuda()
        conv(torch.randn(2, 4, 32, device="cuda"))
        gru = torch.nn.GRU(16, 32, batch_first=False).cuda()
        x = torch.randn(8, 64, 16, device="cuda").transpose(0, 1)  # non-contiguous, as RVC's RMVPE feeds it
        try:
            gru(x)
            record("cudnn-rnn", "pass", f"cuDNN {version}: conv and a GRU on a non-contiguous input ran", cudnn=version)
        except RuntimeError as e:
            gru(x.contiguous())
            detail = f"cuDNN {version}: GRU failed on a non-contiguous input, ran after .contiguous()"
            record("cudnn-rnn", "warn", detail, error=_err(e), cudnn=version)
    except BaseException as e:
        record("cudnn-rnn", "fail", _err(e), error=_err(e))
    diffs: list[str] = []
    errors: list[str] = []

    def launch() -> None:
        for i in range(torch.cuda.device_count()):
            try:
                a = torch.randn(512, 512)
                gpu = (a.to(f"cuda:{i}") @ a.to(f"cuda:{i}")).cpu()
                diffs.append(f"cuda:{i} max|Δ|={float((gpu - a @ a).abs().max()):.2e}")
            except BaseException as e:
                errors.append(f"cuda:{i}: {_err(e)}")

    worker = threading.Thread(target=launch, daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():
        record("gpu-compute", "fail", "a kernel did not finish within 20 s (hung GPU or driver?)")
    elif errors:
        record("gpu-compute", "fail", "; ".join(errors), error=errors[0])
    else:
        record("gpu-compute", "pass", "matmul on every GPU matches the CPU: " + ", ".join(diffs))


def main() -> int:
    interpreter()
    installed_set()
    torch = import_torch()
    if torch is not None:
        facts = build_identity(torch)
        arch_coverage(facts)
        gpu = bool(facts["cuda_available"])
        companions(torch, gpu)
        extensions.ecosystem(torch, gpu, record)
        audio_io(torch, gpu)
        cpu_half(torch)
        gpu_checks(torch, facts if gpu else {**facts, "cuda_available": False})
    sys.stdout.write("\n" + MARKER + "\n" + json.dumps({"checks": results}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
