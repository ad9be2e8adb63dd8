"""Query NVML through ctypes and print one JSON object; run as a script in a subprocess.

A broken driver can hang or abort inside NVML, so torchpin never calls it in its own
process: ``detect`` runs this file with a timeout. Standard library only, no torchpin
imports, so ``python -I -S nvml_probe.py`` starts fast.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any


def _candidates() -> list[str]:
    if sys.platform == "win32":
        windir = os.environ.get("WINDIR", r"C:\Windows")
        progs = os.environ.get("PROGRAMFILES", r"C:\Program Files")
        return [windir + r"\System32\nvml.dll", progs + r"\NVIDIA Corporation\NVSMI\nvml.dll"]
    root = os.environ.get("TORCHPIN_SYSROOT", "/").rstrip("/")
    return ["libnvidia-ml.so.1", root + "/usr/lib/wsl/lib/libnvidia-ml.so.1"]


class _Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


def probe() -> dict[str, Any]:
    lib = None
    tried = []
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as e:
            tried.append(str(e))
    if lib is None:
        return {"status": "absent", "detail": "; ".join(tried)}
    lib.nvmlErrorString.restype = ctypes.c_char_p
    rc = lib.nvmlInit_v2()
    if rc:
        return {"status": "init_failed", "rc": rc, "detail": (lib.nvmlErrorString(rc) or b"").decode()}
    try:
        buf = ctypes.create_string_buffer(80)
        driver = buf.value.decode() if lib.nvmlSystemGetDriverVersion(buf, 80) == 0 else None
        v = ctypes.c_int()
        cuda = None
        if (
            lib.nvmlSystemGetCudaDriverVersion_v2(ctypes.byref(v)) == 0
            or lib.nvmlSystemGetCudaDriverVersion(ctypes.byref(v)) == 0
        ):
            cuda = f"{v.value // 1000}.{(v.value % 1000) // 10}"
        count = ctypes.c_uint()
        gpus = []
        if lib.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0:
            for i in range(count.value):
                handle = ctypes.c_void_p()
                if lib.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(handle)):
                    continue  # one broken device must not hide the others
                name_buf = ctypes.create_string_buffer(96)
                uuid_buf = ctypes.create_string_buffer(96)
                major, minor = ctypes.c_int(), ctypes.c_int()
                mem = _Memory()
                gpus.append(
                    {
                        "index": i,
                        "name": name_buf.value.decode() if lib.nvmlDeviceGetName(handle, name_buf, 96) == 0 else None,
                        "uuid": uuid_buf.value.decode() if lib.nvmlDeviceGetUUID(handle, uuid_buf, 96) == 0 else None,
                        "cc": f"{major.value}.{minor.value}"
                        if lib.nvmlDeviceGetCudaComputeCapability(handle, ctypes.byref(major), ctypes.byref(minor)) == 0
                        else None,
                        "memory_mib": mem.total // (1024 * 1024)
                        if lib.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(mem)) == 0
                        else None,
                    }
                )
        return {"status": "ok", "driver": driver, "cuda": cuda, "gpus": gpus}
    finally:
        lib.nvmlShutdown()


if __name__ == "__main__":
    print(json.dumps(probe()))
