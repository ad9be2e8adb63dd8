"""decide (pure): TARGET flags + host facts + catalog + ``Sources`` → ``Plan`` or ``NoCompatibleBuild``.

``options`` defines the TARGET flags once; ``targets`` turns them into a ``Target``, ``specs`` reads
``--target``, ``platforms`` is the platform vocabulary; ``select`` is the selection policy, with
``search`` (its state), ``compat`` (driver and arch rules), ``pairing`` (companions), ``pins``
(the wheels) and ``nobuild`` (why nothing fits).
"""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from .live import live_candidates
    from .nobuild import no_build
    from .options import TARGET
    from .select import requirement_map
    from .specs import check_shared, described, parse_spec, spec_of
    from .targets import TargetFlags, applicable, build_target, parse_requirement

__getattr__ = face(
    __name__,
    {
        "no_build": "nobuild",
        "live_candidates": "live",
        "requirement_map": "select",
        "TARGET": "options",
        "TargetFlags": "targets",
        "parse_requirement": "targets",
        "check_shared": "specs",
        "parse_spec": "specs",
        "described": "specs",
        "spec_of": "specs",
        "applicable": "targets",
        "build_target": "targets",
    },
)
__all__ = [
    "TARGET",
    "TargetFlags",
    "applicable",
    "build_target",
    "check_shared",
    "described",
    "live_candidates",
    "no_build",
    "parse_requirement",
    "parse_spec",
    "requirement_map",
    "select",
    "spec_of",
]
