"""Every check's verdict from captured raw findings, with the failure texts users really see."""

from __future__ import annotations

from typing import Any

import pytest

from torchpin.envs.diagnose import CHECK_IDS, Expect, classify, evaluate, variant_of

CPU = Expect(
    {"torch": "2.13.0+cpu", "torchvision": "0.28.0+cpu"}, "cpu", "https://download.pytorch.org/whl/cpu", locked=True
)


def raw(cid: str, status: str = "info", detail: str = "", **facts: Any) -> dict[str, Any]:
    return {"id": cid, "status": status, "detail": detail, "raw": facts}


INTERP = raw(
    "interpreter",
    implementation="cpython",
    version="3.11",
    bits=64,
    freethreaded=False,
    executable="/v/bin/python",
    prefix="/v",
    pythonpath="",
    user_site="",
    ld_library_path="",
)


def installed(
    torch: str = "2.13.0+cpu", tv: str | None = "0.28.0+cpu", tv_cuda: str | None = None, n: int = 1
) -> dict[str, Any]:
    dists: dict[str, Any] = {
        "torch": [{"version": torch, "location": f"/site{i}", "requires_python": ">=3.10"} for i in range(n)]
    }
    builds: dict[str, Any] = {"torch": {"origin": "/v/torch/__init__.py", "version_py": {"__version__": torch}}}
    if tv:
        dists["torchvision"] = [{"version": tv, "location": "/site0"}]
        builds["torchvision"] = {"version_py": {"__version__": tv, "cuda": tv_cuda}}
    return raw("installed-set", dists=dists, builds=builds)


IDENTITY = raw(
    "build-identity",
    version="2.13.0+cpu",
    cuda=None,
    hip=None,
    xpu=None,
    cuda_built=False,
    cuda_available=False,
    devices=[],
    arch_list=[],
    cuda_warnings=[],
)


def run(*raws: dict[str, Any], expect: Expect = CPU, env: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.id: c for c in evaluate(list(raws), expect, env)}


def test_every_design_id_is_reported_in_order() -> None:
    checks = evaluate([INTERP, installed(), raw("import", "pass", "import torch took 1.0 s", warnings=[])], CPU)
    assert tuple(c.id for c in checks) == CHECK_IDS
    assert {c.status for c in checks[3:]} == {"skip"}  # nothing ran after import: skipped, not passed


def test_pypi_companion_beside_cpu_torch() -> None:
    # PyPI's torchvision 0.28.0 is a CUDA 13.0 build: version.py says so even without a local tag
    got = run(INTERP, installed(tv="0.28.0", tv_cuda="13.0"))["installed-set"]
    assert got.status == "fail"
    assert "torchvision 0.28.0 is a cu130 build but torch 2.13.0+cpu is a cpu build [FM-04]" in got.detail
    assert got.fix == "torchpin install torch==2.13.0+cpu torchvision==0.28.0+cpu --backend cpu"


def test_two_torch_installs() -> None:
    got = run(INTERP, installed(n=2))["installed-set"]
    assert got.status == "fail" and "2 torch installations" in got.detail and "[FM-05]" in got.detail


def test_version_differs_from_the_lock() -> None:
    got = run(INTERP, installed(torch="2.12.0+cpu"))["installed-set"]
    assert got.status == "fail" and "torch 2.12.0+cpu is installed, the lock says 2.13.0+cpu" in got.detail


IMPORT_ERRORS = [
    (
        "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory",
        "FM-11",
        "torchpin install",
    ),
    (
        "ImportError: /v/nvidia/cusparse/lib/libcusparse.so.12: undefined symbol: __nvJitLinkAddData_12_1, version libnvJitLink.so.12",
        "FM-12",
        "unset LD_LIBRARY_PATH",
    ),
    (
        "RuntimeError: cuDNN version incompatibility: PyTorch was compiled  against (8, 7, 0) but found runtime version (8, 2, 4).",
        "FM-12",
        "unset LD_LIBRARY_PATH",
    ),
    (
        "ImportError: /lib64/libm.so.6: version `GLIBC_2.27' not found (required by /v/libcurand.so.10)",
        "FM-18",
        "glibc >= 2.28",
    ),
    (
        'OSError: [WinError 126] The specified module could not be found. Error loading "C:\\v\\torch\\lib\\fbgemm.dll"',
        "FM-17",
        "Visual C++",
    ),
    ("A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.0 as it may crash.", "FM-19", "numpy<2"),
]


@pytest.mark.parametrize(("error", "fm", "fix"), IMPORT_ERRORS, ids=[e[1] + ":" + e[0][:30] for e in IMPORT_ERRORS])
def test_import_failures(error: str, fm: str, fix: str) -> None:
    got = run(INTERP, installed(), raw("import", "fail", error, error=error, traceback=""))["import"]
    assert got.status == "fail" and f"[{fm}]" in got.detail
    assert got.fix is not None and fix in got.fix


def test_numpy_missing_is_a_warning() -> None:
    msg = "Failed to initialize NumPy: No module named 'numpy' (Triggered internally at …/tensor_numpy.cpp:84.)"
    got = run(INTERP, installed(), raw("import", "pass", "import torch took 0.9 s", warnings=[msg]))["import"]
    assert got.status == "warn" and got.fix == "pip install numpy"


COMPANION_ERRORS = [
    "RuntimeError: operator torchvision::nms does not exist",
    "RuntimeError: Detected that PyTorch and torchvision were compiled with different CUDA versions. PyTorch has CUDA "
    "Version=11.7 and torchvision has CUDA Version=11.8. Please reinstall the torchvision that matches your PyTorch install.",
    "NotImplementedError: Could not run 'torchvision::nms' with arguments from the 'CUDA' backend.",
    "OSError: /v/torchaudio/lib/libtorchaudio.so: undefined symbol: _ZNK3c107SymBool10guard_boolEPKcl",
]


@pytest.mark.parametrize("error", COMPANION_ERRORS, ids=["nms", "cuda-versions", "cpu-vision", "abi"])
def test_companion_failures(error: str) -> None:
    tv = raw("companion:torchvision", "fail", error, error=error, traceback="")
    ta = raw("companion:torchaudio", "skip", "torchaudio is not installed")
    got = run(INTERP, installed(), raw("import", "pass", "", warnings=[]), IDENTITY, tv, ta)["companions"]
    assert got.status == "fail" and "[FM-04]" in got.detail
    assert got.fix == "torchpin install torch==2.13.0+cpu torchvision==0.28.0+cpu --backend cpu"


AUDIO_ERRORS = [
    (
        "ImportError: TorchCodec is required for save_with_torchcodec. Please install torchcodec to use this function.",
        "FM-33",
    ),
    ("RuntimeError: Could not load libtorchcodec. Likely causes:\n 1. FFmpeg is not properly installed", "FM-33"),
    ("AttributeError: module 'torchaudio' has no attribute 'list_audio_backends'", "FM-34"),
    ("RuntimeError: Input tensor has to be on CPU.", "FM-31"),
]


@pytest.mark.parametrize(("error", "fm"), AUDIO_ERRORS, ids=[a[1] + ":" + a[0][:20] for a in AUDIO_ERRORS])
def test_audio_failures(error: str, fm: str) -> None:
    got = run(INTERP, installed(), raw("audio-io", "fail", error, error=error, traceback=""))["audio-io"]
    assert got.status == "fail" and f"[{fm}]" in got.detail and got.fix


def test_ffmpeg_hint_for_libtorchcodec() -> None:
    error = "RuntimeError: Could not load libtorchcodec. Likely causes: 1. FFmpeg is not properly installed"
    expect = Expect({"torch": "2.9.1+cu130", "torchaudio": "2.9.1+cu130", "torchcodec": "0.9.1+cu130"}, "cu130")
    got = run(INTERP, raw("audio-io", "fail", error, error=error, traceback=""), expect=expect)["audio-io"]
    assert (
        got.fix
        == "torchpin install torch==2.9.1+cu130 torchaudio==2.9.1+cu130 torchcodec==0.9.1+cu130 --backend cu130  (and install FFmpeg 4-8)"
    )


def test_cpu_build_on_a_gpu_machine() -> None:
    gpu = Expect({"torch": "2.13.0+cpu"}, "cu130", gpu_kind="cuda")
    got = run(INTERP, installed(tv=None), raw("import", "pass", "", warnings=[]), IDENTITY, expect=gpu)[
        "build-identity"
    ]
    assert (
        got.status == "fail" and "a CPU build (torch 2.13.0+cpu) on a machine with an NVIDIA GPU [FM-01]" in got.detail
    )


def test_driver_too_old_for_the_cuda_build() -> None:
    identity = raw(
        "build-identity",
        version="2.13.0+cu130",
        cuda="13.0",
        hip=None,
        xpu=None,
        cuda_built=True,
        cuda_available=False,
        devices=[],
        arch_list=[],
        cuda_warnings=["CUDA initialization: The NVIDIA driver on your system is too old (found version 12080)."],
    )
    expect = Expect({"torch": "2.13.0+cu130"}, "cu130", gpu_kind="cuda", driver_cuda="12.8")
    got = run(INTERP, raw("import", "pass", "", warnings=[]), identity, expect=expect)["build-identity"]
    assert got.status == "fail" and "[FM-06]" in got.detail


def test_gpu_checks_deferred_in_a_docker_build() -> None:
    skip = raw("gpu-compute", "skip", "no GPU visible to torch")
    docker = Expect({"torch": "2.14.1+cu126"}, "cu126", docker_build=True)
    assert run(skip, expect=docker)["gpu-compute"].detail.startswith("deferred: no GPU visible")
    assert run(skip, expect=CPU)["gpu-compute"].detail == "no GPU visible to torch"  # a CPU target expects none


def test_cudnn_rnn_and_half_on_cpu() -> None:
    cudnn = raw(
        "cudnn-rnn",
        "fail",
        "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in a non-contiguous input.",
        error="RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED.",
    )
    assert run(cudnn)["cudnn-rnn"].fix == "call .contiguous() on the RNN input, or split very long inputs"
    half = raw(
        "cpu-half",
        "warn",
        "half precision on CPU: works matmul/float16; fails stft/float16",
        failed={"stft/float16": "RuntimeError: MKL FFT doesn't support tensors of type: Half"},
    )
    got = run(half)["cpu-half"]
    assert got.status == "warn" and "float32" in (got.fix or "")


def test_environment_warnings() -> None:
    shadowed = raw(
        "interpreter",
        implementation="cpython",
        version="3.11",
        bits=64,
        freethreaded=False,
        executable="/v/bin/python",
        prefix="/v",
        pythonpath="",
        user_site="/home/u/.local/lib",
        ld_library_path="/usr/local/cuda-12.1/lib64:/usr/lib",
    )
    inst = installed()
    inst["raw"]["builds"]["torch"]["origin"] = "/home/u/.local/lib/torch/__init__.py"
    got = run(
        shadowed, inst, env=("/etc/pip.conf sets extra-index-url: a later `pip install` may replace torch [FM-02]",)
    )
    detail = got["interpreter"].detail
    assert got["interpreter"].status == "warn"
    assert "user site" in detail and "/usr/local/cuda-12.1/lib64" in detail and "[FM-02]" in detail


def test_wrong_interpreter_fails() -> None:
    pypy = raw(
        "interpreter",
        implementation="pypy",
        version="3.10",
        bits=64,
        freethreaded=False,
        executable="/p",
        prefix="/p",
        pythonpath="",
        user_site="",
        ld_library_path="",
    )
    assert run(pypy)["interpreter"].status == "fail"
    old = raw(
        "interpreter",
        implementation="cpython",
        version="3.9",
        bits=64,
        freethreaded=False,
        executable="/p",
        prefix="/p",
        pythonpath="",
        user_site="",
        ld_library_path="",
    )
    assert "requires Python >=3.10" in run(old, installed())["interpreter"].detail


@pytest.mark.parametrize(
    ("version_py", "variant"),
    [
        ({"__version__": "2.13.0+cu130", "cuda": "13.0"}, "cu130"),
        ({"__version__": "0.28.0", "cuda": "13.0"}, "cu130"),  # PyPI: no local tag, but the cuda field
        ({"__version__": "2.13.0", "cuda": None}, "cpu"),  # macOS / PyPI Windows
        ({"__version__": "2.8.0+rocm6.4", "hip": "6.4.43482"}, "rocm6.4"),
    ],
)
def test_variant_of(version_py: dict[str, Any], variant: str) -> None:
    assert variant_of(version_py) == variant


def test_unknown_text_is_not_classified() -> None:
    assert classify("everything is fine") is None


ECOSYSTEM_ERRORS = [
    ("ImportError: /v/xformers/_C.so: undefined symbol: _ZN3c104cuda9SetDeviceEab", "FM-04"),
    (
        "WARNING[XFORMERS]: xFormers can't load C++/CUDA extensions. xFormers was built for:\n"
        "    PyTorch 2.5.1+cu121 with CUDA 1201 (you have 2.6.0+cu124)",
        "FM-04",
    ),
    ("ImportError: libcudart.so.12: cannot open shared object file: No such file or directory", "FM-11"),
]


@pytest.mark.parametrize(("error", "fm"), ECOSYSTEM_ERRORS, ids=["undefined-symbol", "built-for", "cudart"])
def test_an_ecosystem_failure_names_the_package_and_pairs_it_again(error: str, fm: str) -> None:
    x = raw("ecosystem:xformers", "fail", f"xformers 0.0.35: {error.splitlines()[-1]}", error=error, traceback="")
    got = run(INTERP, installed(), raw("import", "pass", "", warnings=[]), IDENTITY, x)["ecosystem"]
    assert got.status == "fail" and f"[{fm}]" in got.detail and "xformers" in got.detail
    assert got.fix == "torchpin install torch==2.13.0+cpu xformers --backend cpu"
    if "undefined symbol" in error:  # a symbol of no string type: torch's own, from another release
        assert got.cause == (
            "a C++ ABI mismatch: xformers was built for another torch release or CUDA than torch 2.13.0+cpu"
            " (it lacks _ZN3c104cuda9SetDeviceEab, a symbol of torch's own)"
        )
    elif fm == "FM-04":
        assert got.cause == "xformers was built against another torch than this one"


def test_no_ecosystem_package_is_a_skip_saying_so() -> None:
    got = run(INTERP, installed(), raw("import", "pass", "", warnings=[]), IDENTITY)["ecosystem"]
    assert got.status == "skip" and "no ecosystem package" in got.detail
