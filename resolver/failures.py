"""Known failure texts (pure): the exact error messages of each failure mode, and their cause.

One table, read by ``diagnose`` for the verify checks' text and by ``doctor``.
"""

from __future__ import annotations

import re

# (pattern, cause) per failure mode: the reference's exact error texts.
PATTERNS: tuple[tuple[str, str, str], ...] = (
    (
        r"operator torchvision::nms does not exist",
        "FM-04",
        "torchvision was built for another torch release or variant",
    ),
    (
        r"compiled with different CUDA versions|whereas TorchAudio has CUDA version",
        "FM-04",
        "a companion was built for another CUDA variant than torch",
    ),
    (
        r"Could not run 'torchvision::nms' with arguments from the 'CUDA' backend",
        "FM-04",
        "a CPU torchvision next to a CUDA torch",
    ),
    (
        r"undefined symbol: __nvJitLink|cuDNN version incompatibility",
        "FM-12",
        "a system CUDA/cuDNN on LD_LIBRARY_PATH shadows the libraries torch ships",
    ),
    (
        r"(_C|libtorchaudio[.\w]*|libtorchvision[.\w]*)\.so: undefined symbol|undefined symbol: _ZN",
        "FM-04",
        "a companion's C++ extension was built against another torch",
    ),
    (
        r"lib(cudnn|cudart|curand|cublas|nccl|nvJitLink|torch_cuda)[\w.]*: cannot open shared object file",
        "FM-11",
        "torch's CUDA libraries (the nvidia-* wheels) are missing or not found",
    ),
    (r"GLIBC_\d+\.\d+'? not found", "FM-18", "the system glibc is older than the wheels need"),
    (r"WinError 126", "FM-17", "a DLL torch needs is missing (VC++ runtime / libomp140)"),
    (
        r"compiled using NumPy 1\.x cannot be run|_ARRAY_API not found",
        "FM-19",
        "NumPy 2 with a torch built for NumPy 1",
    ),
    (
        r"TorchCodec is required|No module named 'torchcodec'",
        "FM-33",
        "torchaudio >= 2.9 reads and writes audio through TorchCodec",
    ),
    (r"Could not load libtorchcodec", "FM-33", "TorchCodec can't load: FFmpeg missing or a torch/TorchCodec mismatch"),
    (r"module 'torchaudio' has no attribute", "FM-34", "code written for another torchaudio API"),
    (
        r"Input tensor has to be on CPU|can't convert cuda:\d+ device type tensor to numpy",
        "FM-31",
        "a CUDA tensor handed to CPU-only audio I/O: call .cpu() first",
    ),
    (
        r"not implemented for 'Half'|doesn't support tensors of type: (Half|BFloat16)",
        "FM-32",
        "half precision on the CPU: use float32 when falling back to the CPU",
    ),
    (
        r"CUDNN_STATUS_NOT_SUPPORTED",
        "FM-35",
        "cuDNN rejects this RNN input; pass a contiguous tensor or split long inputs",
    ),
    (
        r"driver on your system is too old|CUDA driver version is insufficient",
        "FM-06",
        "the NVIDIA driver is too old for this CUDA build",
    ),
    (
        r"no kernel image is available|not compatible with the current PyTorch installation",
        "FM-07",
        "the GPU is too new or too old for this build's kernels",
    ),
    (r"Error 80[34]", "FM-15", "CUDA forward-compatibility libraries on unsupported hardware"),
    (r"CUDA unknown error", "FM-16", "the NVIDIA driver is in a bad state (suspend/resume, missing /dev/nvidia-uvm)"),
)


def classify(text: str) -> tuple[str, str] | None:
    """(FM id, cause) for the first known failure text found in ``text``."""
    for pattern, fm, cause in PATTERNS:
        if re.search(pattern, text):
            return fm, cause
    return None
