"""Known failure texts (pure): the exact error messages of each failure mode, and their cause.

One table, read by ``diagnose`` for the verify checks' text and by ``doctor``.
"""

from __future__ import annotations

import re

# (pattern, failure mode, cause, fix) per failure mode: the reference's exact error texts. A fix
# of None means "install the locked build again"; "{install}" stands for that command.
PATTERNS: tuple[tuple[str, str, str, str | None], ...] = (
    (
        r"operator torchvision::nms does not exist",
        "FM-04",
        "torchvision was built for another torch release or variant",
        None,
    ),
    (
        r"compiled with different CUDA versions|whereas TorchAudio has CUDA version",
        "FM-04",
        "a companion was built for another CUDA variant than torch",
        None,
    ),
    (
        r"Could not run 'torchvision::nms' with arguments from the 'CUDA' backend",
        "FM-04",
        "a CPU torchvision next to a CUDA torch",
        None,
    ),
    (
        r"undefined symbol: __nvJitLink|cuDNN version incompatibility",
        "FM-12",
        "a system CUDA/cuDNN on LD_LIBRARY_PATH shadows the libraries torch ships",
        "unset LD_LIBRARY_PATH (or drop its CUDA/cuDNN folders) and run again",
    ),
    (
        r"(_C|libtorchaudio[.\w]*|libtorchvision[.\w]*)\.so: undefined symbol|undefined symbol: _ZN",
        "FM-04",
        "a companion's C++ extension was built against another torch",
        None,
    ),
    (
        r"xFormers was built for|compiled against a different version of PyTorch|xFormers can't load C\+\+"
        r"|Skipping import of cpp extensions due to incompatible torch version",
        "FM-04",
        "an extension (xformers, torchao …) was built against another torch release or CUDA",
        None,
    ),
    (
        r"lib(cudnn|cudart|curand|cublas|nccl|nvJitLink|torch_cuda)[\w.]*: cannot open shared object file",
        "FM-11",
        "torch's CUDA libraries (the nvidia-* wheels) are missing or not found",
        None,
    ),
    (
        r"GLIBC_\d+\.\d+'? not found",
        "FM-18",
        "the system glibc is older than the wheels need",
        "use a newer base image (glibc >= 2.28), or: {install}",
    ),
    (
        r"WinError 126",
        "FM-17",
        "a DLL torch needs is missing (VC++ runtime / libomp140)",
        "install the latest Microsoft Visual C++ 2015-2022 Redistributable (x64)",
    ),
    (
        r"compiled using NumPy 1\.x cannot be run|_ARRAY_API not found",
        "FM-19",
        "NumPy 2 with a torch built for NumPy 1",
        "pip install 'numpy<2'  (or a torch >= 2.3)",
    ),
    (
        r"TorchCodec is required|No module named 'torchcodec'",
        "FM-33",
        "torchaudio >= 2.9 reads and writes audio through TorchCodec",
        None,
    ),
    (
        r"Could not load libtorchcodec",
        "FM-33",
        "TorchCodec can't load: FFmpeg missing or a torch/TorchCodec mismatch",
        None,
    ),
    (r"module 'torchaudio' has no attribute", "FM-34", "code written for another torchaudio API", None),
    (
        r"Input tensor has to be on CPU|can't convert cuda:\d+ device type tensor to numpy",
        "FM-31",
        "a CUDA tensor handed to CPU-only audio I/O: call .cpu() first",
        "move tensors to the CPU before file I/O: torchaudio.save(path, wav.cpu(), rate)",
    ),
    (
        r"not implemented for 'Half'|doesn't support tensors of type: (Half|BFloat16)",
        "FM-32",
        "half precision on the CPU: use float32 when falling back to the CPU",
        "run CPU fallbacks in float32: model.float(); keep .half() for the GPU",
    ),
    (
        r"CUDNN_STATUS_NOT_SUPPORTED",
        "FM-35",
        "cuDNN rejects this RNN input; pass a contiguous tensor or split long inputs",
        "call .contiguous() on the RNN input, or split very long inputs",
    ),
    (
        r"driver on your system is too old|CUDA driver version is insufficient",
        "FM-06",
        "the NVIDIA driver is too old for this CUDA build",
        None,
    ),
    (
        r"no kernel image is available|not compatible with the current PyTorch installation",
        "FM-07",
        "the GPU is too new or too old for this build's kernels",
        None,
    ),
    (r"Error 80[34]", "FM-15", "CUDA forward-compatibility libraries on unsupported hardware", None),
    (
        r"CUDA unknown error",
        "FM-16",
        "the NVIDIA driver is in a bad state (suspend/resume, missing /dev/nvidia-uvm)",
        "reload the driver: sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm (or reboot)",
    ),
)


def classify(text: str) -> tuple[str, str, str | None] | None:
    """(FM id, cause, fix) for the first known failure text found in ``text``."""
    for pattern, fm, cause, fix in PATTERNS:
        if re.search(pattern, text):
            return fm, cause, fix
    return None
