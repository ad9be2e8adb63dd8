"""decide (pure): TARGET flags + host facts + catalog + ``Sources`` → ``Plan`` or ``NoCompatibleBuild``.

``options`` defines the TARGET flags once; ``targets`` turns them into a ``Target``, ``specs`` reads
``--target``, ``platforms`` is the platform vocabulary; ``select`` is the selection policy, with
``search`` (its state), ``compat`` (driver and arch rules), ``pairing`` (companions), ``pins``
(the wheels) and ``nobuild`` (why nothing fits).
"""

from typing import TYPE_CHECKING

from torchpin.lazy import face

if TYPE_CHECKING:
    from .select import live_candidates, requirement_map, select
    from .sources import Sources
    from .targets import TargetFlags, applicable, build_target

__getattr__ = face(
    __name__,
    {
        "live_candidates": "select",
        "requirement_map": "select",
        "select": "select",
        "Sources": "sources",
        "TargetFlags": "targets",
        "applicable": "targets",
        "build_target": "targets",
    },
)
__all__ = ["Sources", "TargetFlags", "applicable", "build_target", "live_candidates", "requirement_map", "select"]
