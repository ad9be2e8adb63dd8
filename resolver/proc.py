"""The one way torchpin starts a process (edge): detection probes, the installer, the installed-set
query and the verify script all come through ``run`` (``start`` when torchpin works meanwhile).

Each child gets its own session, so a timeout or an interrupt kills it and everything it
started (a hung ``nvidia-smi``, pip's build subprocesses); errors are translated once, into
``NotStarted`` and ``TimedOut``. ``tests/test_layout.py`` fails if another module imports
``subprocess``. Callers use ``proc.run`` through the module, so a test can patch in a recorder.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class NotStarted(Exception):
    """The program could not be started (missing, not executable)."""

    def __init__(self, argv: Sequence[str], reason: str) -> None:
        super().__init__(f"cannot run {argv[0]}: {reason}")
        self.reason = reason


class TimedOut(Exception):
    """The program did not finish in time; it and its children were killed."""

    def __init__(self, argv: Sequence[str], seconds: float) -> None:
        super().__init__(f"{argv[0]} did not finish within {seconds:g} s")
        self.seconds = seconds


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    stream: Callable[[str], None] | None = None,
) -> Done:
    """Run to completion. ``stream`` gets each output line (stdout and stderr merged) as it comes,
    instead of collecting it; ``env`` replaces the environment when given."""
    return start(argv, env=env, stream=stream is not None).wait(timeout, stream)


def start(argv: Sequence[str], *, env: Mapping[str, str] | None = None, stream: bool = False) -> Running:
    """Start without waiting (``Running.wait`` collects it, ``Running.stop`` ends it): work that
    may overlap with torchpin's own, such as a resolution started on a guess."""
    try:
        child = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if stream else subprocess.PIPE,
            text=True,
            errors="replace",
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as e:
        raise NotStarted(argv, e.strerror or type(e).__name__) from None
    return Running(tuple(argv), child)


class Running:
    """A started process; whoever starts one waits for it or stops it."""

    def __init__(self, argv: tuple[str, ...], child: subprocess.Popen[str]) -> None:
        self.argv, self._child = argv, child

    def wait(self, timeout: float | None = None, stream: Callable[[str], None] | None = None) -> Done:
        child = self._child
        try:
            if stream is not None:
                assert child.stdout is not None
                for line in child.stdout:
                    stream(line)
                return Done(self.argv, child.wait(timeout=timeout), "", "")
            out, err = child.communicate(timeout=timeout)
            return Done(self.argv, child.returncode, out, err)
        except subprocess.TimeoutExpired:
            raise TimedOut(self.argv, timeout or 0) from None
        finally:
            self.stop()  # after a timeout, or torchpin itself interrupted

    def stop(self) -> None:
        """Kill it and everything it started, unless it has ended."""
        if self._child.poll() is None:
            _kill_group(self._child)


def _kill_group(child: subprocess.Popen[str]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        child.kill()
    child.communicate()
