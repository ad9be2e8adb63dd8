"""The click face: commands, options, output, human rendering. The only package that exits."""

from .app import cli, main

__all__ = ["cli", "main"]
