"""The smoke test's ecosystem checks (standalone, run inside the *target* interpreter by
``verify_script``): import each installed extension with its warnings and stderr captured, then
one tiny operation of its own where the device allows. Each finding goes to ``record``.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import io
import re
import traceback
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr
from typing import Any

ECOSYSTEM = (
    ("xformers", "xformers"),
    ("torch-tensorrt", "torch_tensorrt"),
    ("torchao", "torchao"),
    ("fbgemm-gpu", "fbgemm_gpu"),
    ("fbgemm-gpu-genai", "fbgemm_gpu"),
    ("torchrec", "torchrec"),
    ("flash-attn-3", "flash_attn_interface"),
    ("flash-attn", "flash_attn"),
    ("pyg-lib", "pyg_lib"),
    ("torch-scatter", "torch_scatter"),
    ("torch-sparse", "torch_sparse"),
    ("torch-cluster", "torch_cluster"),
    ("torch-spline-conv", "torch_spline_conv"),
)
# What an extension says when it loads against another torch than it was built for; xformers
# and torchao only warn at import, and their ops fail later.
ABI_SAID = re.compile(
    r"undefined symbol|built for:|compiled against a different version|can't load C\+\+"
    r"|Skipping import of cpp extensions"
)


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def ecosystem(torch: Any, gpu: bool, record: Callable[..., None]) -> None:
    """Import each installed ecosystem package, then one tiny operation where the device allows."""
    for dist, module in ECOSYSTEM:
        try:  # by distribution: fbgemm-gpu and fbgemm-gpu-genai install one module
            md.distribution(dist)
        except md.PackageNotFoundError:
            continue
        cid, err = f"ecosystem:{dist}", io.StringIO()
        try:
            with warnings.catch_warnings(record=True) as caught, redirect_stderr(err):
                warnings.simplefilter("always")
                mod = __import__(module)
            said = "\n".join([err.getvalue(), *(str(w.message) for w in caught)])
            version = getattr(mod, "__version__", "?")
            if ABI_SAID.search(said):
                text = said.strip()[-1500:]
                telling = next((line for line in text.splitlines() if ABI_SAID.search(line)), text.splitlines()[-1])
                record(cid, "fail", f"{dist} {version}: {telling.strip()[:200]}", error=text, traceback="")
                continue
            if dist == "xformers" and gpu:
                ops = importlib.import_module("xformers.ops")
                q = torch.randn(1, 8, 2, 16, device="cuda", dtype=torch.float16)
                out = ops.memory_efficient_attention(q, q, q)
                record(cid, "pass", f"xformers {version}: memory_efficient_attention on CUDA gave {tuple(out.shape)}")
            elif dist == "xformers":
                record(cid, "skip", f"xformers {version} imports; memory_efficient_attention needs a CUDA GPU (none)")
            elif module == "fbgemm_gpu":  # a CPU kernel of the library itself
                got = torch.ops.fbgemm.asynchronous_complete_cumsum(torch.tensor([1, 2, 3])).tolist()
                status = "pass" if got == [0, 1, 3, 6] else "fail"
                record(cid, status, f"{dist} {version}: asynchronous_complete_cumsum on the CPU gave {got}")
            elif dist == "flash-attn" and gpu:
                q = torch.randn(1, 8, 2, 64, device="cuda", dtype=torch.float16)
                out = mod.flash_attn_func(q, q, q)
                record(cid, "pass", f"flash-attn {version}: flash_attn_func on CUDA gave {tuple(out.shape)}")
            elif dist == "flash-attn":
                record(cid, "skip", f"flash-attn {version} imports; flash_attn_func needs a CUDA GPU (none)")
            elif dist == "torch-scatter":  # a compiled CPU kernel, not torch's own scatter_add_
                got = mod.segment_csr(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0, 2, 4])).tolist()
                status = "pass" if got == [3.0, 7.0] else "fail"
                record(cid, status, f"torch-scatter {version}: segment_csr on the CPU gave {got}")
            elif dist == "flash-attn-3":
                record(
                    cid,
                    "skip",
                    f"{dist} {version} imports; its kernels need a CUDA GPU (FlashAttention-3 targets Hopper)",
                )
            elif dist == "torch-tensorrt":
                record(cid, "skip", f"{dist} {version} imports; compiling an engine needs a GPU and TensorRT")
            elif module in ("pyg_lib", "torch_sparse", "torch_cluster", "torch_spline_conv"):
                record(cid, "pass", f"{dist} {version} imports (its import loads its C++ ops)")
            else:  # torchao loaded its C++ ops (it warns when it skips them); torchrec is Python
                record(cid, "pass", f"{dist} {version} imports")
        except BaseException as e:
            # torch.ops.load_library wraps the loader's "undefined symbol" in "Could not load this library"
            inner = e.__cause__ or e.__context__
            shown = inner if inner is not None and ABI_SAID.search(str(inner)) else e
            short = re.sub(r"\S*[/\\]site-packages[/\\]", "…/", _err(shown))
            record(cid, "fail", f"{dist}: {short}", error=_err(shown), traceback=traceback.format_exc()[-2000:])
