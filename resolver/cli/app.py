"""Command line: parse, wire, render. The only module that exits."""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from torchpin import __version__, commands, locks, net
from torchpin import cli as ui  # this package's own face: its tables load only for the commands that print them
from torchpin.errors import Interrupted, TorchpinError, UsageError
from torchpin.locks.formats import CHOICES

if TYPE_CHECKING:  # `--help` and the parsing load no decision module
    from torchpin.commands import Context
    from torchpin.models import Installer

from .help import EPILOG_DETECT, EPILOG_INSTALL, EPILOG_LOCK, EPILOG_MAIN, EPILOG_VERIFY
from .options import (
    check_only,
    collect_requirements,
    complete,
    index_from,
    index_location_options,
    index_options,
    lock_options,
    requirement_options,
    settings_sources,
    target_flags,
    target_options,
)
from .output import echo_err, on_signal, say, usage_line, write_stdout
from .snapshot import snapshot_bytes


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EPILOG_MAIN)
@click.version_option(__version__, prog_name="torchpin")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for unexpected errors (anywhere on the line).")
@click.option("-q", "--quiet", is_flag=True, help="Say only errors and results: no notes, no progress (anywhere).")
@click.pass_context
def cli(click_ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """Pick, pin, install and verify the right PyTorch build for a machine."""
    from .config import load  # the project's [tool.torchpin]: defaults under flags and variables

    settings = load(Path.cwd())
    click_ctx.default_map = settings.defaults
    click_ctx.obj = {**(click_ctx.obj or {}), "settings": settings}
    # -v and -q are read by main() before click runs, wherever they stand: a traceback must be
    # possible for any error, and `torchpin lock -q` means what `torchpin -q lock` means.


@cli.command(epilog=EPILOG_LOCK)
@requirement_options
@target_options
@index_options
@click.option(
    "--format", "fmt", type=click.Choice(CHOICES), default="requirements", show_default=True, help="Lock format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the lock to FILE atomically instead of stdout.",
)
@click.option("--explain", is_flag=True, help="Print the decision and the nearest rejected builds to stderr.")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="SPEC",
    shell_complete=complete("targets"),
    help="Lock for this machine spec (repeat).",
)
@click.option(
    "--machines",
    multiple=True,
    type=click.Path(),
    metavar="FILE_OR_DIR",
    help="Lock one build for every node of a fleet: their `torchpin detect --json` files (repeat).",
)
@click.option(
    "--split",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="With --machines: a lock per group of nodes plus DIR/torchpin-fleet.json for install --lock.",
)
@click.option("--add", is_flag=True, help="With --format pyproject: also pin the builds in [project.dependencies].")
@click.option(
    "--full",
    is_flag=True,
    help="Lock everything in the -r files too, hash-pinned, resolved by uv (pip install --require-hashes).",
)
@click.option(
    "--check",
    "check",
    is_flag=False,
    flag_value="",
    metavar="[LOCK]",
    help="Decide LOCK's recorded targets again (default: the lock `torchpin lock` writes here, else "
    "requirements.txt); exit 7 when a newer build fits, "
    "a pinned file is gone or its hash changed, or LOCK was edited. Writes nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="With --check: print the findings as JSON to stdout.")
def lock(
    requirements: tuple[str, ...],
    req_files: tuple[str, ...],
    fmt: str,
    output: Path | None,
    explain: bool,
    add: bool,
    full: bool,
    targets: tuple[str, ...],
    machines: tuple[str, ...],
    split: Path | None,
    check: str | None,
    as_json: bool,
    **given: Any,
) -> None:
    """Lock torch / torchvision / torchaudio for a target; the lock goes to stdout.

    REQ are requirement strings such as 'torch>=2.4,<2.6' or torchvision; with
    none, torch + torchvision + torchaudio. The target is this machine unless
    TARGET options describe another one.
    """
    ctx = context()
    index = _index(given)
    if check is not None:
        if check == "" and len(requirements) == 1 and Path(requirements[0]).is_file():
            check, requirements = requirements[0], ()  # `--check --json FILE`: FILE is the lock, not a REQ
        check_only(fmt=fmt != "requirements", output=output, explain=explain, add=add, full=full, targets=targets)
        check_only(machines=machines, split=split)
        check_only(requirements=requirements, req_files=req_files, **given)
        defaults = {"pyproject": "pyproject.toml", "pylock": "pylock.toml"}
        report = commands.run_check(ctx, check or str(output or defaults.get(fmt, "requirements.txt")), index)
        ui.finish_check(report, as_json)
        return
    if as_json:
        raise UsageError("--json goes with --check", hint="for a JSON lock use --format json")
    form = locks.LockFormat(fmt)
    others: list[str] | None = [] if full or form.complete else None
    reqs = collect_requirements(requirements, req_files, ctx.environ, ctx.say, others)
    existing = ""
    if form.edits_file:  # edited in place: ./pyproject.toml, or the file -o names
        output = output or Path("pyproject.toml")
        existing = locks.read_text(output, keep_bom=True)
    elif add:
        raise UsageError("--add goes with --format pyproject", hint="drop --add, or add --format pyproject")
    index, flags = commands.variant_root(ctx, index, target_flags(given))
    if split is not None:
        ui.write_split(ctx, commands.run_split(ctx, reqs, flags, index, machines, fmt=form, split=split, output=output))
        return
    text = commands.run_lock(
        ctx,
        reqs,
        flags,
        index,
        fmt=form,
        explain=explain,
        existing=existing,
        add=add,
        others=others,
        targets=targets,
        typed=requirements,
        req_files=req_files,
        machines=machines,
    )
    ctx.flush()
    if output:
        from torchpin.files import write_user_file  # tempfile & co.: only a lock written to a file pays

        written = write_user_file(output, text)
        through = f" (through the link to {written})" if written != output else ""
        ctx.say(f"torchpin: wrote {output}{through}\n")
    else:
        write_stdout(text)


@cli.command(epilog=EPILOG_DETECT)
@target_options
@index_location_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout instead of the table.")
def detect(as_json: bool, **given: Any) -> None:
    """Show what torchpin finds on this machine, where each fact came from, and the build it would lock.

    Nothing here imports torch. The TARGET and index options (and their TORCHPIN_* variables)
    apply exactly as they do for `lock`; "would choose" is what `torchpin lock --offline` with
    the same options locks.
    """
    ctx = context()
    index = _index(given)
    index, flags = commands.variant_root(ctx, index, target_flags(given))
    doc = commands.run_detect(ctx, flags, index)
    doc["settings"] = settings_sources()
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        echo_err(ui.detect_text(doc))  # the result: shown under -q too


@cli.command(epilog=EPILOG_INSTALL)
@requirement_options
@target_options
@index_options
@click.option(
    "--installer",
    type=click.Choice(["auto", "uv", "pip"]),
    default="auto",
    envvar="TORCHPIN_INSTALLER",
    show_envvar=True,
    show_default=True,
    help="auto: uv when found, else pip.",
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter (or venv) to install into; default: VIRTUAL_ENV, CONDA_PREFIX, or .venv here or above.",
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
@click.option(
    "--lock",
    "from_lock",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Install this lock as it stands instead of planning: any format torchpin writes (requirements, --full, "
    "constraints, json, pyproject, pylock; a multi-target lock: this interpreter's entry).",
)
def install(
    requirements: tuple[str, ...],
    req_files: tuple[str, ...],
    installer: Installer,
    python: str | None,
    lock_path: str,
    dry_run: bool,
    no_verify: bool,
    require_hashes: bool,
    from_lock: str | None,
    **given: Any,
) -> None:
    """Lock, install into an interpreter with uv or pip, then verify (exit 5: install failed, 6: verify failed).

    Every torch-family wheel whose sha256 is known is checked: by pip or uv as they download
    it, or by torchpin first where they can't. A torch family left from another build is replaced.
    """
    ctx = context()
    index = _index(given)
    opts = commands.InstallOptions(installer, python, dry_run, not no_verify, lock_path, require_hashes)
    if from_lock:
        if requirements or req_files:
            raise UsageError("--lock installs a lock as it stands: give no REQ or -r with it")
        lock_options(ctx, index, given)
        report = commands.run_install_lock(ctx, from_lock, opts, index)
    else:
        others: list[str] = []  # the file's other lines: installed beside the family, from PyPI
        reqs = collect_requirements(requirements, req_files, ctx.environ, ctx.say, others)
        index, flags = commands.variant_root(ctx, index, target_flags(given))
        report = commands.run_install(ctx, reqs, flags, index, replace(opts, others=tuple(others)))
    if report is not None:
        ui.finish_report(report, False, "verify")


@cli.command(epilog=EPILOG_VERIFY)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter (or venv folder) to check; default: VIRTUAL_ENV, CONDA_PREFIX, or .venv here or above.",
)
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, exists=True), help="Compare with this lock.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON to stdout.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop the smoke test after this long (a hung CUDA init or driver is a failed check).",
)
@click.option("--summary", is_flag=True, help="Summarize FILES (`verify --json` of many nodes) instead.")
@click.argument("files", nargs=-1, metavar="[FILES]...")
def verify(python: str | None, lock_file: str | None, as_json: bool, timeout: float, summary: bool, files: Any) -> None:
    """Smoke-test the torch install in an interpreter; exit 6 if a check fails.

    torch is imported only in that interpreter, in a subprocess. Checks run cheapest
    first; GPU checks are skipped (with the reason) when no GPU is visible. With --summary,
    FILES (files or folders of many nodes' `verify --json`) are grouped: who passed, who failed and why.
    """
    if summary or files:
        ui.finish_summary(files, as_json, given=bool(python or lock_file) or not summary)
        return
    ui.finish_report(commands.run_verify(context(), python, lock_file, timeout=timeout), as_json, "verify")


@cli.command()
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter (or venv folder) to check; default: VIRTUAL_ENV, CONDA_PREFIX, or .venv here or above.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON to stdout.")
def doctor(python: str | None, as_json: bool) -> None:
    """Diagnose an existing environment without changing it; end with the command that fixes it.

    The verify checks plus what this machine needs: a CPU build on a GPU machine, a driver
    too old for the installed CUDA build, companions from another index or variant.
    """
    report, fix = commands.run_doctor(context(), python)
    ui.finish_report(report, as_json, "doctor", extra={"fix": fix}, closing=f"torchpin: to fix: {fix}" if fix else None)


def _index(given: dict[str, Any]) -> commands.IndexOptions:
    """The INDEX options, with the hosts pip and uv are told to trust plain http from
    (``PIP_TRUSTED_HOST``, ``UV_INSECURE_HOST``): the installers trust them anyway."""
    index = index_from(given)
    hosts = [h for name in TRUST_VARIABLES for h in os.environ.get(name, "").split()]
    return replace(index, trusted_hosts=(*index.trusted_hosts, *hosts)) if hosts else index


TRUST_VARIABLES = ("PIP_TRUSTED_HOST", "UV_INSECURE_HOST")


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(torchpin completion bash)" in ~/.bashrc (zsh: the
    same in ~/.zshrc; fish: torchpin completion fish | source). Options, --backend, --target and
    --python-platform values complete."""
    from .completion import script

    click.echo(script(cli, shell))


def context() -> Context:
    """The command's Context: this process's environment, the shipped snapshot, stderr (nothing
    but errors and results under -q)."""
    err = sys.stderr
    quiet = bool((click.get_current_context().obj or {}).get("quiet"))  # main() read -q, wherever it stood
    say_to = _silent if quiet else echo_err
    return commands.Context(os.environ, snapshot_bytes, say_to, tty=bool(err and err.isatty()))


def _silent(_text: str) -> None:
    pass


def main() -> None:
    """Console entry point: TorchpinError → one line on stderr and the contract's exit code."""
    # -v anywhere (`torchpin -v lock`, `torchpin lock -v`): a traceback must be possible for any error.
    args = sys.argv[1:]
    verbose = "-v" in args or "--verbose" in args
    quiet = "-q" in args or "--quiet" in args
    signal.signal(signal.SIGTERM, on_signal)
    try:
        args = [a for a in args if a not in ("-v", "--verbose", "-q", "--quiet")]
        cli.main(args=args, prog_name="torchpin", standalone_mode=False, obj={"quiet": quiet})
    except TorchpinError as e:
        say(f"torchpin: error: {e}")
        sys.exit(e.exit_code)
    except Interrupted as e:
        say("torchpin: terminated; nothing was left half-written")
        sys.exit(128 + e.signum)
    except (click.exceptions.Abort, KeyboardInterrupt):
        say("torchpin: interrupted; nothing was left half-written")
        sys.exit(130)
    except click.ClickException as e:
        say(f"Error: {e.format_message()}" if not isinstance(e, click.UsageError) else usage_line(e))
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except RecursionError:
        say("torchpin: error: input nested too deeply to read (is it a JSON bomb?)")
        sys.exit(2)
    except MemoryError:
        say("torchpin: error: out of memory reading the input")
        sys.exit(2)
    except Exception as e:
        if verbose:
            sys.stderr.write(net.scrub(traceback.format_exc()))
        say(f"torchpin: internal error: {type(e).__name__}: {e} (re-run with -v for the traceback)")
        sys.exit(1)
