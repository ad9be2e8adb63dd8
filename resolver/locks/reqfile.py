"""Requirement files read the way pip reads them: continuations, comments, per-line options,
``${VAR}``, nested ``-r`` / ``-c``; markers kept for the target.

A torch-family line that can't be honoured is an error (exit 2), never skipped: skipping it
would lock some other torch with exit 0. Other projects' lines are reported and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import canonicalize_name

from torchpin.decide.targets import parse_requirement
from torchpin.errors import UsageError
from torchpin.models import PROJECTS, Requirement

MAX_BYTES = 1024 * 1024  # a requirements file is a few kB; /dev/zero is not one
MAX_DEPTH = 10
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")
_FAMILY_PATH = re.compile(r"(^|[/\\])(" + "|".join(PROJECTS) + r")([/\\]|$)")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Options pip takes on a requirement line; their values say nothing torchpin locks.
_LINE_OPTIONS = ("--hash", "--config-settings", "--global-option", "--install-option")
# Options pip takes on a line of their own, and whether they take a value.
_GLOBAL_OPTIONS = {
    "-i": True,
    "--index-url": True,
    "--extra-index-url": True,
    "-f": True,
    "--find-links": True,
    "--trusted-host": True,
    "--no-index": False,
    "--pre": False,
    "--prefer-binary": False,
    "--only-binary": True,
    "--no-binary": True,
    "--require-hashes": False,
    "--use-feature": True,
}


def read_requirement_files(
    paths: tuple[str, ...], environ: Mapping[str, str], others: list[str] | None = None
) -> tuple[list[Requirement], list[str]]:
    """(torch-family requirements, notes for stderr) from ``-r`` files; the other projects'
    requirement lines go to ``others`` when given (``--full`` locks them too). ``environ``
    expands ``${VAR}`` as pip does."""
    env = environ
    reqs: list[Requirement] = []
    notes: list[str] = []
    for path in paths:
        _read(Path(path), env, reqs, notes, constraint=False, depth=0, others=others)
    return reqs, notes


def _read(
    path: Path,
    env: Mapping[str, str],
    reqs: list[Requirement],
    notes: list[str],
    *,
    constraint: bool,
    depth: int,
    others: list[str] | None,
) -> None:
    if depth > MAX_DEPTH:
        raise UsageError(f"{path}: requirement files nest more than {MAX_DEPTH} deep (a loop?)")
    parse_text(
        read_text(path),
        str(path),
        env,
        reqs,
        notes,
        constraint=constraint,
        others=others,
        include=lambda name, as_constraint: _read(
            path.parent / name, env, reqs, notes, constraint=as_constraint, depth=depth + 1, others=others
        ),
    )


def read_text(path: Path, *, keep_bom: bool = False) -> str:
    """A requirements file's text: capped, and refused when it is not UTF-8 text. ``keep_bom``
    for a file torchpin edits in place, whose BOM must survive the edit."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path} is larger than {MAX_BYTES // 1024} KiB: not a requirements file")
    if b"\0" in data:
        raise UsageError(f"{path} is a binary file, not a requirements file")
    try:
        return data.decode("utf-8" if keep_bom else "utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from None


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) after joining backslash continuations and dropping comments."""
    out: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        line = _COMMENT.sub("", " ".join(p.strip() for p in parts) if len(parts) > 1 else parts[0]).strip()
        parts = []
        if line:
            out.append((start, line))
    if parts:  # a continuation on the last line: pip joins it with nothing
        line = _COMMENT.sub("", " ".join(p.strip() for p in parts)).strip()
        if line:
            out.append((start, line))
    return out


def parse_text(
    text: str,
    source: str,
    env: Mapping[str, str],
    reqs: list[Requirement],
    notes: list[str],
    *,
    constraint: bool = False,
    include: Callable[[str, bool], None] | None = None,
    others: list[str] | None = None,
) -> None:
    for number, raw in logical_lines(text):
        line = _ENV_VAR.sub(lambda m: env.get(m["name"], m[0]), raw)
        where = f"{source}:{number}: "
        if line.startswith("-"):
            _option_line(line, where, notes, include)
            continue
        requirement, options = _split_options(line)
        for option in options:
            if not option.startswith(_LINE_OPTIONS):
                if _names_family(requirement):
                    raise UsageError(f"{where}unknown option {option.split('=')[0]!r} on {requirement!r}")
                break
        if not _names_family(requirement):
            if others is None:
                notes.append(f"torchpin: skipped {where}{requirement!r} (not a torch-family project)")
            elif not constraint:
                # The user's hashes go with the line: the lock may only pin a file they allow.
                others.append(" ".join([requirement, *(o for o in options if o.startswith("--hash"))]))
            continue
        req = parse_requirement(requirement, where=where)
        if any(o.startswith("--hash") for o in options):
            notes.append(f"torchpin: {where}{req.project}'s --hash lines are for other files; the lock pins its own")
        reqs.append(Requirement(req.project, req.specifier, req.marker, constraint))


def _option_line(line: str, where: str, notes: list[str], include: Callable[[str, bool], None] | None) -> None:
    flag, _, value = line.replace("=", " ", 1).partition(" ")
    value = value.strip()
    if flag in ("-r", "--requirement", "-c", "--constraint"):
        if not value:
            raise UsageError(f"{where}{flag} needs a file name")
        if include is None:
            raise UsageError(f"{where}{flag} is only read from requirement files")
        include(value, flag in ("-c", "--constraint"))
    elif flag in ("-e", "--editable"):
        if _names_family(value.rsplit("#egg=", 1)[-1]) or _FAMILY_PATH.search(value):
            raise UsageError(f"{where}an editable torch-family install can't be locked: {value!r}")
        notes.append(f"torchpin: skipped {where}{line!r} (editable)")
    elif flag in _GLOBAL_OPTIONS:
        notes.append(f"torchpin: {where}{flag} is not read from requirement files; give it to torchpin itself")
    else:
        raise UsageError(f"{where}unknown option {flag!r}", hint="pip would refuse this file too")


def _split_options(line: str) -> tuple[str, list[str]]:
    """pip's rule: the requirement ends at the first word that starts with '-'."""
    words = line.split()
    for i, word in enumerate(words):
        if i and word.startswith("-"):
            return " ".join(words[:i]), _pair_options(words[i:])
    return line, []


def _pair_options(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if word.startswith("-") or not out:
            out.append(word)
        else:
            out[-1] += "=" + word
    return out


def _names_family(text: str) -> bool:
    m = _NAME.match(text)
    return m is not None and canonicalize_name(m[1]) in PROJECTS


def user_hashes(lines: Sequence[str]) -> dict[str, set[str]]:
    """project → the sha256 values the user's ``--hash`` options allow, from ``others`` lines."""
    out: dict[str, set[str]] = {}
    for line in lines:
        requirement, options = _split_options(line)
        hashes = {o.split("=", 1)[1].removeprefix("sha256:").lower() for o in options if o.startswith("--hash=sha256:")}
        if not hashes:
            continue
        try:
            name = canonicalize_name(PackagingRequirement(requirement).name)
        except InvalidRequirement:
            continue  # a bare URL: uv names it, and the policy has read it
        out.setdefault(name, set()).update(hashes)
    return out
