"""A simulated cluster for the README's fleet recipes: fake node roots (each a ``FakeMachine``
with its own nvidia-smi, kernel module and hostname), and stand-ins for ``srun`` and ``kubectl``
that run a command as each node would: under that node's root, with its tools on PATH."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from tests.support.fake_machine import PROC_OPEN, FakeMachine


class FakeNode(NamedTuple):
    name: str
    driver: str | None  # None: no NVIDIA GPU (a login node)
    gpus: tuple[tuple[str, str], ...] = ()  # (name, compute capability)


SRUN = r"""#!/bin/sh
# srun stand-in: one task per node of $FAKE_CLUSTER (the first --nodes=N), run as that node;
# --output's %N is the node's name, as Slurm's filename pattern has it.
out=""; count=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output=*) out="${1#--output=}" ;;
    --nodes=*) count="${1#--nodes=}" ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
n=0
for root in "$FAKE_CLUSTER"/*/; do
  node=$(basename "$root")
  n=$((n + 1))
  if [ -n "$count" ] && [ "$n" -gt "$count" ]; then break; fi
  target=$(printf '%s' "$out" | sed "s/%N/$node/g")
  mkdir -p "$(dirname "$target")"
  TORCHPIN_SYSROOT="$root" PATH="$root/bin:$PATH" "$@" > "$target" || exit $?
done
"""

KUBECTL = r"""#!/bin/sh
# kubectl stand-in: a DaemonSet is one pod per node of $FAKE_CLUSTER; its logs are what the
# manifest's command printed on that node.
case "$1" in
  apply) grep -q "torchpin detect --json" "$3" || { echo "manifest runs no torchpin detect --json" >&2; exit 1; }
         echo "daemonset.apps/torchpin-inventory created" ;;
  rollout) echo "daemon set \"torchpin-inventory\" successfully rolled out" ;;
  get) for root in "$FAKE_CLUSTER"/*/; do node=$(basename "$root"); echo "torchpin-inventory-$node $node"; done ;;
  logs) node=${2#torchpin-inventory-}; node=${node#pod/}
        TORCHPIN_SYSROOT="$FAKE_CLUSTER/$node" PATH="$FAKE_CLUSTER/$node/bin:$PATH" torchpin detect --json ;;
  delete) echo "daemonset.apps \"torchpin-inventory\" deleted" ;;
  *) echo "kubectl stand-in: $1 not simulated" >&2; exit 2 ;;
esac
"""


def node_root(folder: Path, node: FakeNode) -> FakeMachine:
    """The node's root: its hostname, and its NVIDIA driver seen by the kernel and nvidia-smi."""
    m = FakeMachine(folder / node.name)
    m.file("/proc/sys/kernel/hostname", node.name + "\n")
    if node.driver:
        m.file("/proc/driver/nvidia/version", PROC_OPEN.replace("550.144.03", node.driver))
        rows = "".join(
            f"{i}, GPU-{node.name}-{i}, {name}, {node.driver}, {cc}, 81559\n" for i, (name, cc) in enumerate(node.gpus)
        )
        m.tool("nvidia-smi", rows)
    return m


def cluster(folder: Path, nodes: tuple[FakeNode, ...]) -> tuple[Path, dict[str, str]]:
    """The cluster's roots under ``folder``/nodes, ``srun``, ``kubectl`` and ``torchpin`` on a PATH of
    their own, and the environment that runs the recipes (offline: a node reads no index)."""
    roots = folder / "nodes"
    machines = [node_root(roots, n) for n in nodes]
    tools = folder / "bin"
    tools.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("srun", SRUN),
        ("kubectl", KUBECTL),
        ("torchpin", f'#!/bin/sh\nexec "{sys.executable}" -m torchpin "$@"\n'),
    ):
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    env = {k: v for k, v in machines[0].env.items() if k != "TORCHPIN_SYSROOT"}
    env.update(FAKE_CLUSTER=str(roots), PATH=f"{tools}:/usr/bin:/bin")
    return roots, env
