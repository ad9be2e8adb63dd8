"""The help texts: examples, the environment, exit codes (what `--help` shows beside the options)."""

EPILOG_MAIN = """\b
Every option's TORCHPIN_* variable is shown in its command's --help. Order: flags, then
variables, then [tool.torchpin] in the project's pyproject.toml (keys: index-url, find-links,
trusted-host, backend, python-version, cuda-compat, targets, format, output, installer).

\b
Environment without a flag:
  TORCHPIN_PYPI_URL        everything but the torch family (else UV_DEFAULT_INDEX,
                           UV_INDEX_URL, PIP_INDEX_URL; default https://pypi.org/simple)
  TORCHPIN_PYG_URL         PyG's wheel pages (default https://data.pyg.org/whl)
  TORCHPIN_FLASH_ATTN_URL  flash-attn's GitHub releases, or a mirror of them
  TORCHPIN_CACHE_MAX_AGE   seconds a cached page is used unasked (default 300)
  TORCHPIN_PROBE_TIMEOUT   seconds per detection probe (default 5)
  TORCHPIN_SYSROOT         read /sys, /proc, /etc, /opt under this folder (testing)
  PIP_TRUSTED_HOST, UV_INSECURE_HOST   hosts plain http is allowed from, as --trusted-host
  NO_COLOR, FORCE_COLOR    no colour / colour even when stderr is not a terminal

\b
Exit codes: 0 ok, 2 usage, 3 no compatible build, 4 index unreachable, 5 install failed,
6 verification failed, 7 lock --check found the lock out of date.
"""


EPILOG_LOCK = """\b
Examples:
  torchpin lock > requirements.txt
  torchpin lock 'torch>=2.4,<2.6' torchvision --python-version 3.10
  torchpin lock --driver 570.86.15 --gpu-cc 12.0 --explain
  torchpin lock --python-platform aarch64-apple-darwin --format json
  torchpin lock --backend cpu -o requirements.txt
  torchpin lock --format pyproject --add        # a uv project: edits ./pyproject.toml
  torchpin lock --target linux-cu126:driver=550.54.15,gpu-cc=8.6 --target macos-arm64
  torchpin lock -r requirements.in --format pylock -o pylock.toml
  torchpin lock --check requirements.txt     # exit 7 when stale or edited (CI, pre-commit)
  torchpin lock --machines inventories/ --explain   # one build for a fleet (detect --json each)
  torchpin lock --machines inventories/ --split locks/   # a lock per group + torchpin-fleet.json

\b
--target SPEC (repeat; one lock for several machines, each line behind its marker):
  SPEC = OS[-ARCH][-BACKEND][:KEY=VALUE,...] or `this` (this machine, detected)
  OS linux|macos|windows; ARCH x86_64|aarch64|arm64; BACKEND auto|cpu|cuXYZ|rocmX.Y|xpu
  KEY driver, gpu-cc, amd-gfx (repeat per GPU), python-version, glibc, macos-version, cuda-compat
"""


EPILOG_DETECT = """\b
Examples:
  torchpin detect
  torchpin detect --json | jq .accelerator
  CUDA_VISIBLE_DEVICES=1 torchpin detect
"""


EPILOG_INSTALL = """\b
Examples:
  torchpin install
  torchpin install 'torch==2.13.0' --backend cpu --python .venv/bin/python
  torchpin install --dry-run --driver 570.86.15 --gpu-cc 12.0
  # in a Dockerfile (no GPU at build time):
  RUN torchpin install --backend cu128 --no-fallback
  torchpin install --lock locks/torchpin-fleet.json   # a split fleet: this machine's group
"""


EPILOG_VERIFY = """\b
Examples:
  torchpin verify
  torchpin verify --python .venv/bin/python --lock requirements.txt
  torchpin verify --json | jq '.checks[] | select(.status == "fail")'
  torchpin verify --summary verify/      # many nodes' verify --json, grouped (exit 6: a node failed)
"""
