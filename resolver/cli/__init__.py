"""cli (face): click. ``app`` holds the commands and is the only module that reads ``os.environ``;
``options`` the shared option groups, ``output`` where words go, ``render`` the human tables (loaded
by the commands that print them)."""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from .app import cli, main
    from .render import detect_text, finish_check, finish_report, finish_summary, write_split

__getattr__ = face(
    __name__,
    {
        "cli": "app",
        "main": "app",
        "finish_report": "render",
        "finish_check": "render",
        "detect_text": "render",
        "finish_summary": "render",
        "write_split": "render",
    },
)
__all__ = ["cli", "detect_text", "finish_check", "finish_report", "finish_summary", "main", "write_split"]
