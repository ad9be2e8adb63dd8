"""Command line: parse, wire, render. The only module that exits."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import SnapshotError, TorchpinError, UsageError
from .lockfile import FORMATS
from .models import Requirement

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_LOCK = """\b
Examples:
  torchpin lock > requirements.txt
  torchpin lock 'torch>=2.4,<2.6' torchvision --python-version 3.10
  torchpin lock --driver 570.86.15 --gpu-cc 12.0 --explain
  torchpin lock --python-platform aarch64-apple-darwin --format json
  torchpin lock --backend cpu -o requirements.txt
"""


def _target_options(f: F) -> F:
    """The TARGET options, built from their one definition (``options.TARGET``)."""
    from .options import TARGET

    for opt in reversed(TARGET):
        kwargs: dict[str, Any] = {"envvar": opt.envvar, "help": opt.help}
        if opt.is_flag:
            kwargs["is_flag"] = True
        else:
            kwargs["metavar"] = opt.metavar
        if opt.multiple:
            kwargs["multiple"] = True
        if opt.choices:
            kwargs["type"] = click.Choice(opt.choices)
        if opt.default is not None:
            kwargs.update(default=opt.default, show_default=True)
        f = click.option(opt.flag, opt.field, **kwargs)(f)
    return f


def _requirement_options(f: F) -> F:
    f = click.option(
        "-r",
        "--requirement",
        "req_files",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Read requirements from a file as pip does (continuations, options, markers, nested -r/-c); "
        "torch-family lines are locked, others reported and skipped.",
    )(f)
    return click.argument("requirements", nargs=-1, metavar="[REQ]...")(f)


def _requirements(requirements: tuple[str, ...], req_files: tuple[str, ...]) -> list[Requirement]:
    reqs = [_parse_req(r) for r in requirements]
    if req_files:
        from .reqfile import read_requirement_files

        from_files, notes = read_requirement_files(req_files)
        for note in notes:
            click.echo(note, err=True)
        reqs += from_files
    return reqs


def _seconds(flag: str, default: float, text: str) -> Callable[[F], F]:
    env = "TORCHPIN_" + flag.removeprefix("--").upper()
    return click.option(flag, type=click.FloatRange(min=0.1), default=default, envvar=env, show_default=True,
                        metavar="SECONDS", help=text)  # fmt: skip


def _index_options(f: F) -> F:
    options = [
        click.option(
            "--index-url",
            envvar="TORCHPIN_INDEX_URL",
            metavar="BASE",
            help="PyTorch-style index root, pages at BASE/<variant>/<project>/ "
            "(default https://download.pytorch.org/whl).",
        ),
        click.option(
            "--find-links",
            envvar="TORCHPIN_FIND_LINKS",
            metavar="URL",
            help="Flat mirror root: URL/<variant>/ lists the wheels (a directory-listing mirror).",
        ),
        click.option(
            "--trusted-host",
            multiple=True,
            envvar="TORCHPIN_TRUSTED_HOST",
            metavar="HOST",
            help="Allow plain http to HOST (loopback is always allowed).",
        ),
        click.option(
            "--cert",
            envvar="TORCHPIN_CERT",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            help="CA bundle for the index (else PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, certifi).",
        ),
        click.option(
            "--offline", is_flag=True, envvar="TORCHPIN_OFFLINE", help="Use the embedded snapshot only; no network."
        ),
        click.option("--refresh", is_flag=True, envvar="TORCHPIN_REFRESH", help="Ignore the page cache."),
        _seconds("--timeout", 10.0, "Per-request connect/read timeout (3 retries follow)."),
        _seconds("--deadline", 60.0, "Whole-operation limit for reading the index, retries included."),
        click.option(
            "--no-fallback",
            is_flag=True,
            envvar="TORCHPIN_NO_FALLBACK",
            help="Exit 4 when the index can't be read, instead of locking from the snapshot.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="torchpin")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Pick, pin, install and verify the right PyTorch build for a machine."""
    ctx.obj = {"verbose": verbose}


@cli.command(epilog=EPILOG_LOCK)
@_requirement_options
@_target_options
@_index_options
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="requirements", show_default=True, help="Lock format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the lock to FILE atomically instead of stdout.",
)
@click.option("--explain", is_flag=True, help="Print the decision and the nearest rejected builds to stderr.")
def lock(
    requirements: tuple[str, ...],
    req_files: tuple[str, ...],
    fmt: str,
    output: Path | None,
    explain: bool,
    index_url: str | None,
    find_links: str | None,
    trusted_host: tuple[str, ...],
    cert: str | None,
    offline: bool,
    refresh: bool,
    timeout: float,
    deadline: float,
    no_fallback: bool,
    **target: Any,
) -> None:
    """Lock torch / torchvision / torchaudio for a target; the lock goes to stdout.

    REQ are requirement strings such as 'torch>=2.4,<2.6' or torchvision; with
    none, torch + torchvision + torchaudio. The target is this machine unless
    TARGET options describe another one.
    """
    from .commands import IndexOptions, run_lock

    index = IndexOptions(index_url, find_links, trusted_host, cert, offline, refresh, no_fallback, timeout, deadline)
    text, notes = run_lock(
        _requirements(requirements, req_files), target, index, fmt=fmt, explain=explain, snapshot=_snapshot_bytes
    )
    for line in notes:
        click.echo(line, err=True, nl=False)
    if output:
        from .files import write_user_file

        written = write_user_file(output, text)
        click.echo(f"torchpin: wrote {output}" + (f" (through the link to {written})" if written != output else ""),
                   err=True)  # fmt: skip
    else:
        _write_stdout(text)


EPILOG_DETECT = """\b
Examples:
  torchpin detect
  torchpin detect --json | jq .accelerator
  CUDA_VISIBLE_DEVICES=1 torchpin detect
"""


@cli.command(epilog=EPILOG_DETECT)
@_target_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout instead of the table.")
def detect(as_json: bool, **target: Any) -> None:
    """Show what torchpin finds on this machine, where each fact came from, and the build it would lock.

    Nothing here imports torch. The TARGET options (and their TORCHPIN_* variables) override
    what the probes find exactly as they do for `lock`; "would choose" is what
    `torchpin lock --offline` with the same options locks.
    """
    import os

    from .commands import run_detect

    doc = run_detect(_snapshot_bytes, dict(os.environ), target)
    if as_json:
        import json

        click.echo(json.dumps(doc, indent=2))
    else:
        from .render import detect_text

        click.echo(detect_text(doc), err=True, nl=False)


EPILOG_INSTALL = """\b
Examples:
  torchpin install
  torchpin install 'torch==2.13.0' --backend cpu --python .venv/bin/python
  torchpin install --dry-run --driver 570.86.15 --gpu-cc 12.0
  # in a Dockerfile (no GPU at build time):
  RUN torchpin install --backend cu128 --no-fallback
"""


@cli.command(epilog=EPILOG_INSTALL)
@_requirement_options
@_target_options
@_index_options
@click.option(
    "--installer",
    type=click.Choice(["auto", "uv", "pip"]),
    default="auto",
    envvar="TORCHPIN_INSTALLER",
    show_default=True,
    help="auto: uv when found, else pip.",
)
@click.option(
    "--python", "python", metavar="PATH", help="Interpreter (or venv) to install into; default: the active venv."
)
@click.option(
    "-o",
    "--output",
    "lock_path",
    default="torchpin.lock.txt",
    show_default=True,
    metavar="FILE",
    help="Where the lock is written (atomically) before installing.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the exact installer command; change nothing.")
@click.option("--no-verify", is_flag=True, help="Skip the smoke test after installing.")
@click.option("--require-hashes", is_flag=True, help="Exit 3 when a torch-family wheel has no known sha256.")
def install(requirements: tuple[str, ...], req_files: tuple[str, ...], index_url: str | None, find_links: str | None,
            trusted_host: tuple[str, ...], cert: str | None, offline: bool, refresh: bool, timeout: float,
            deadline: float, no_fallback: bool, installer: str, python: str | None, lock_path: str, dry_run: bool,
            no_verify: bool, require_hashes: bool, **target: Any) -> None:  # fmt: skip
    """Lock, install into an interpreter with uv or pip, then verify (exit 5: install failed, 6: verify failed).

    The torch-family wheels whose sha256 is known are downloaded and checked by torchpin
    before the installer sees them. A torch family left from another build is replaced.
    """
    from .commands import IndexOptions
    from .envcommands import InstallOptions, run_install

    index = IndexOptions(index_url, find_links, trusted_host, cert, offline, refresh, no_fallback, timeout, deadline)
    opts = InstallOptions(installer, python, dry_run, not no_verify, lock_path, require_hashes)
    report = run_install(_requirements(requirements, req_files), target, index, opts, snapshot=_snapshot_bytes)
    if report is not None:
        _finish_report(report, False, "verify")


EPILOG_VERIFY = """\b
Examples:
  torchpin verify
  torchpin verify --python .venv/bin/python --lock requirements.txt
  torchpin verify --json | jq '.checks[] | select(.status == "fail")'
"""


@cli.command(epilog=EPILOG_VERIFY)
@click.option(
    "--python", "python", metavar="PATH", help="Interpreter (or venv folder) to check; default: the active venv."
)
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, exists=True), help="Compare with this lock.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON to stdout.")
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True, metavar="SECONDS")
def verify(python: str | None, lock_file: str | None, as_json: bool, timeout: float) -> None:
    """Smoke-test the torch install in an interpreter; exit 6 if a check fails.

    torch is imported only in that interpreter, in a subprocess. Checks run cheapest
    first; GPU checks are skipped (with the reason) when no GPU is visible.
    """
    from .envcommands import run_verify

    _finish_report(run_verify(python, lock_file, timeout=timeout, snapshot=_snapshot_bytes), as_json, "verify")


@cli.command()
@click.option(
    "--python", "python", metavar="PATH", help="Interpreter (or venv folder) to check; default: the active venv."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON to stdout.")
def doctor(python: str | None, as_json: bool) -> None:
    """Diagnose an existing environment without changing it; end with the command that fixes it.

    The verify checks plus what this machine needs: a CPU build on a GPU machine, a driver
    too old for the installed CUDA build, companions from another index or variant.
    """
    from .envcommands import run_doctor

    report, fix = run_doctor(python, snapshot=_snapshot_bytes)
    _finish_report(report, as_json, "doctor", extra={"fix": fix}, closing=f"torchpin: to fix: {fix}" if fix else None)


def _finish_report(
    report: Any, as_json: bool, title: str, extra: dict[str, Any] | None = None, closing: str | None = None
) -> None:
    from .errors import VerifyFailed

    if as_json:
        import json

        click.echo(json.dumps({**report.as_json(), **(extra or {})}, indent=2))
    else:
        from .render import report_table

        report_table(report, title)
        if closing and report.ok:
            click.echo(closing, err=True)
    if not report.ok:
        failed = [c.id for c in report.checks if c.status == "fail"]
        tail = f"; {closing.removeprefix('torchpin: ')}" if closing else ""
        raise VerifyFailed(f"{len(failed)} check(s) failed: {', '.join(failed)}{tail}")


def _parse_req(text: str) -> Requirement:
    from .targets import parse_requirement

    return parse_requirement(text)


def _snapshot_bytes() -> bytes:
    # A path beside this file, not importlib.resources (+10 ms of imports): torchpin is never
    # run from a zip, and the editable checkout's resolver/data/ link resolves the same way.
    try:
        return (Path(__file__).parent / "data" / "wheel_index.json").read_bytes()
    except OSError as e:
        raise SnapshotError(f"the embedded snapshot is missing ({e.strerror})", hint="reinstall torchpin") from None


class OutputError(UsageError):
    """The lock could not be written where the user sent it: never exit 0."""


def _write_stdout(text: str) -> None:
    """The lock to stdout, or an error: a closed or broken stdout must not pass for success."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`torchpin lock >&-`)
        raise OutputError("cannot write the lock: stdout is closed", hint="redirect it to a file, or use -o FILE")
    try:
        stream.write(text)
        stream.flush()
    except OSError as e:
        _silence_stdout()
        raise OutputError(
            f"cannot write the lock to stdout: {e.strerror or type(e).__name__}", hint="use -o FILE"
        ) from None


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _on_signal(signum: int, _frame: object) -> None:
    # Raised in the main thread, so every `finally` and atomic-write cleanup runs on the way out.
    raise _Interrupted(signum)


class _Interrupted(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _say(text: str) -> None:
    """One line to stderr with any URL credentials masked; never fails (stderr may be closed too)."""
    from .urls import scrub

    with contextlib.suppress(OSError, ValueError, AttributeError):
        click.echo(scrub(text), err=True)


def main() -> None:
    """Console entry point: TorchpinError → one line on stderr and the contract's exit code."""
    import signal

    verbose = "-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        cli.main(standalone_mode=False)
    except TorchpinError as e:
        _say(f"torchpin: error: {e}")
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _say("torchpin: interrupted; nothing was left half-written")
        sys.exit(130)
    except _Interrupted as e:
        _say("torchpin: terminated; nothing was left half-written")
        sys.exit(128 + e.signum)
    except click.ClickException as e:
        _say(f"Error: {e.format_message()}" if not isinstance(e, click.UsageError) else _usage_line(e))
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except RecursionError:
        _say("torchpin: error: input nested too deeply to read (is it a JSON bomb?)")
        sys.exit(2)
    except MemoryError:
        _say("torchpin: error: out of memory reading the input")
        sys.exit(2)
    except Exception as e:
        if verbose:
            import traceback

            from .urls import scrub

            sys.stderr.write(scrub(traceback.format_exc()))
        _say(f"torchpin: internal error: {type(e).__name__}: {e} (re-run with -v for the traceback)")
        sys.exit(1)


def _usage_line(e: click.UsageError) -> str:
    hint = f" (try '{e.ctx.command_path} --help')" if e.ctx else ""
    return f"torchpin: error: {e.format_message()}{hint}"
