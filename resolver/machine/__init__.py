"""machine (edge): this machine. ``detect`` runs the ``probes`` into a ``host.Host``; ``interpreter``
is the cheap part (this Python and OS) that ``--no-detect`` still reads."""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from .detect import detect_host
    from .host import Host, decide, host_json, host_target
    from .interpreter import (
        host_platform,
        host_python,
        in_project_environment,
        in_tool_environment,
        interpreter_target,
        python_version_file,
        read_interpreter,
    )

__getattr__ = face(
    __name__,
    {
        "detect_host": "detect",
        "Host": "host",
        "decide": "host",
        "host_json": "host",
        "host_target": "host",
        "host_platform": "interpreter",
        "host_python": "interpreter",
        "in_tool_environment": "interpreter",
        "in_project_environment": "interpreter",
        "python_version_file": "interpreter",
        "interpreter_target": "interpreter",
        "read_interpreter": "interpreter",
    },
)
__all__ = [
    "Host",
    "decide",
    "detect_host",
    "host_json",
    "host_platform",
    "host_python",
    "host_target",
    "in_project_environment",
    "in_tool_environment",
    "interpreter_target",
    "python_version_file",
    "read_interpreter",
]
