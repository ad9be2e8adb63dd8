"""The CLI's shared option groups: TARGET (from ``decide.options.TARGET``), requirements, INDEX."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from torchpin import commands, decide, locks
from torchpin.decide.options import TARGET
from torchpin.errors import UsageError

if TYPE_CHECKING:  # the option groups build without them: `--help` loads no decision module
    from torchpin.commands import Context, IndexOptions
    from torchpin.decide import TargetFlags
    from torchpin.models import Requirement

F = TypeVar("F", bound=Callable[..., Any])


def target_options(f: F) -> F:
    """The TARGET options, built from their one definition (``decide.options.TARGET``)."""
    for opt in reversed(TARGET):
        kwargs: dict[str, Any] = {"envvar": opt.envvar, "show_envvar": True, "help": opt.help}
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
        if opt.field in ("backend", "python_platform"):
            kwargs["shell_complete"] = complete(opt.field)
        f = click.option(opt.flag, opt.field, **kwargs)(f)
    return f


def complete(what: str) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    """The completer for ``what`` (``cli.completion``), loaded only when a shell asks."""

    def run(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from . import completion

        found: list[Any] = getattr(completion, what)(ctx, param, incomplete)
        return found

    return run


def target_flags(given: dict[str, Any]) -> TargetFlags:
    """The TARGET options click parsed, as the typed value every command takes."""
    return decide.TargetFlags(**{k: v for k, v in given.items() if v is not None})


def requirement_options(f: F) -> F:
    f = click.option(
        "-r",
        "--requirement",
        "req_files",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Read requirements from a file as pip does (continuations, options, markers, nested -r/-c); "
        "torch-family lines are locked; the other lines are installed from PyPI beside them by `install`, "
        "locked by `lock --full`, and otherwise reported and skipped.",
    )(f)
    return click.argument("requirements", nargs=-1, metavar="[REQ]...")(f)


def collect_requirements(
    requirements: tuple[str, ...],
    req_files: tuple[str, ...],
    environ: Mapping[str, str],
    say: Callable[[str], None],
    others: list[str] | None = None,
) -> list[Requirement]:
    reqs = [decide.parse_requirement(r) for r in requirements]
    if req_files:
        from_files, notes = locks.read_requirement_files(req_files, environ, others=others)
        for note in notes:
            say(note + "\n")
        reqs += from_files
    return reqs


def seconds(flag: str, default: float, text: str) -> Callable[[F], F]:
    env = "TORCHPIN_" + flag.removeprefix("--").upper()
    return click.option(
        flag,
        type=click.FloatRange(min=0.1),
        default=default,
        envvar=env,
        show_envvar=True,
        show_default=True,
        metavar="SECONDS",
        help=text,
    )


def index_location_options(f: F) -> F:
    """Where the indexes are: ``detect`` takes these too, so it plans as ``lock --offline`` does."""
    options = [
        click.option(
            "--index-url",
            show_envvar=True,
            envvar="TORCHPIN_INDEX_URL",
            metavar="BASE",
            help="PyTorch-style index root, pages at BASE/<variant>/<project>/ "
            "(default https://download.pytorch.org/whl).",
        ),
        click.option(
            "--find-links",
            show_envvar=True,
            envvar="TORCHPIN_FIND_LINKS",
            metavar="URL",
            help="Flat mirror root: URL/<variant>/ lists the wheels (a directory-listing mirror).",
        ),
        click.option(
            "--trusted-host",
            "trusted_hosts",
            multiple=True,
            show_envvar=True,
            envvar="TORCHPIN_TRUSTED_HOST",
            metavar="HOST",
            help="Allow plain http to HOST (loopback is always allowed).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def index_options(f: F) -> F:
    """The INDEX options of ``lock`` and ``install``."""
    options = [
        click.option(
            "--cert",
            show_envvar=True,
            envvar="TORCHPIN_CERT",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            help="CA bundle for the index (else PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, certifi).",
        ),
        click.option(
            "--offline",
            is_flag=True,
            show_envvar=True,
            envvar="TORCHPIN_OFFLINE",
            help="Use the embedded snapshot only; no network.",
        ),
        click.option(
            "--refresh", is_flag=True, show_envvar=True, envvar="TORCHPIN_REFRESH", help="Ignore the page cache."
        ),
        seconds("--timeout", 10.0, "Per-request connect/read timeout (3 retries follow)."),
        seconds("--deadline", 60.0, "Whole-operation limit for reading the index, retries included."),
        click.option(
            "--cache-dir",
            show_envvar=True,
            envvar="TORCHPIN_CACHE_DIR",
            metavar="DIR",  # not click.Path: a cache that can't be used only costs speed
            help="Where pages are cached (default: the platform's user cache folder, torchpin/ in it).",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            show_envvar=True,
            envvar="TORCHPIN_NO_CACHE",
            help="Read and write no cached page (--refresh still writes what it reads).",
        ),
        click.option(
            "--no-fallback",
            is_flag=True,
            show_envvar=True,
            envvar="TORCHPIN_NO_FALLBACK",
            help="Exit 4 when the index can't be read, instead of locking from the snapshot.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return index_location_options(f)


def index_from(given: dict[str, Any]) -> IndexOptions:
    """Pop the INDEX options click parsed into the value the commands take."""
    names = (
        "index_url",
        "find_links",
        "trusted_hosts",
        "cert",
        "offline",
        "refresh",
        "no_fallback",
        "timeout",
        "deadline",
        "cache_dir",
        "no_cache",
    )
    return commands.IndexOptions(**{k: given.pop(k) for k in names if k in given})


def check_only(**given: Any) -> None:
    """--check decides the lock's own recorded targets and requirements: anything typed that would
    change them is refused (a TORCHPIN_* variable or a setting is ignored, as beside install --lock)."""
    option = {o.field: o for o in TARGET}
    named = [
        (name, option[name].flag if name in option else _FLAGS.get(name, "--" + name.replace("_", "-")), value)
        for name, value in given.items()
        if not (name in option and value == option[name].default)
    ]
    typed, _ = _by_source(named)
    if typed:
        raise UsageError(
            f"--check decides the lock's own targets and requirements; {', '.join(typed)} would change them",
            hint="drop them, or lock again with them and check that lock",
        )


_FLAGS = {"requirements": "REQ", "req_files": "-r", "fmt": "--format", "output": "-o", "targets": "--target"}


def _by_source(given: list[tuple[str, str, Any]]) -> tuple[list[str], list[str]]:
    """Of the (parameter, flag, value) given a value: the flags typed on this command, and how to
    name the others (a TORCHPIN_* variable, a [tool.torchpin] key), which are defaults for planning."""
    typed, defaults = [], []
    click_ctx = click.get_current_context()
    for name, flag, value in given:
        if value in (None, (), False):
            continue
        source = click_ctx.get_parameter_source(name)
        if source is click.core.ParameterSource.DEFAULT_MAP:
            defaults.append(f"[tool.torchpin] {flag.removeprefix('--')}")
        elif source is click.core.ParameterSource.ENVIRONMENT:
            param = next(p for p in click_ctx.command.params if p.name == name)
            defaults.append(str(getattr(param, "envvar", None) or flag))
        else:
            typed.append(flag)
    return typed, defaults


def lock_options(ctx: Context, index: commands.IndexOptions, target: dict[str, Any]) -> None:
    """Beside --lock an option is used (--trusted-host, --cert, --timeout, --deadline) or refused:
    the lock names its own indexes and was made for its own target. Only a flag typed on this
    command is refused; a ``TORCHPIN_*`` variable is a default for planning (a Dockerfile's ENV
    lasts into every later RUN, a mirror user keeps TORCHPIN_INDEX_URL set), so beside a lock it
    is ignored, and said so."""
    given = [
        ("index_url", "--index-url", index.index_url),
        ("find_links", "--find-links", index.find_links),
        ("offline", "--offline", index.offline),
        ("refresh", "--refresh", index.refresh),
        ("no_fallback", "--no-fallback", index.no_fallback),
    ]
    given += [(o.field, o.flag, target.get(o.field)) for o in TARGET if target.get(o.field) != o.default]
    refused, ignored = _by_source(given)
    if refused:
        raise UsageError(
            f"--lock installs the lock's own indexes and builds; {', '.join(refused)} would be ignored",
            hint=f"drop {', '.join(refused)}, or lock again with them",
        )
    if ignored:
        ctx.note(f"torchpin: {', '.join(ignored)} ignored: --lock installs the lock's own indexes and builds\n")


def settings_sources() -> dict[str, dict[str, Any]]:
    """Each option not left at its default: its value and where it came from (flag, variable, or
    the project's [tool.torchpin])."""
    click_ctx = click.get_current_context()
    settings = (click_ctx.obj or {}).get("settings")
    out: dict[str, dict[str, Any]] = {}
    for param in click_ctx.command.params:
        source = click_ctx.get_parameter_source(param.name or "")
        if param.name in (None, "as_json") or source in (None, click.core.ParameterSource.DEFAULT):
            continue
        if source is click.core.ParameterSource.ENVIRONMENT:
            where = f"environment ({getattr(param, 'envvar', None)})"
        elif source is click.core.ParameterSource.DEFAULT_MAP:
            where = f"{settings.path if settings else 'pyproject.toml'} [tool.torchpin]"
        else:
            where = "command line"
        value = click_ctx.params.get(param.name)
        out[param.name] = {"value": list(value) if isinstance(value, tuple) else value, "from": where}
    return out
