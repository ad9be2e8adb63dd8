"""``[tool.torchpin]`` in the project's pyproject.toml: the project's defaults for the options, so its
lock command is just ``torchpin lock``. They rank below flags and ``TORCHPIN_*`` variables, which is
where click's ``default_map`` sits; ``detect`` says which of the three each value came from.

The nearest pyproject.toml at or above the working folder is the project's, as uv finds it; one
without ``[tool.torchpin]`` means no settings. ``[tool.torchpin.locked]`` is a lock's own record
(``--format pyproject``), not a setting.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

from torchpin.errors import UsageError


class Key(NamedTuple):
    param: str  # click's parameter name
    commands: tuple[str, ...]
    many: bool = False  # a list of strings (a repeatable option)


_PLANNING = ("lock", "install", "detect")
KEYS: dict[str, Key] = {
    "index-url": Key("index_url", _PLANNING),
    "find-links": Key("find_links", _PLANNING),
    "trusted-host": Key("trusted_hosts", _PLANNING, many=True),
    "backend": Key("backend", _PLANNING),
    "python-version": Key("python_version", _PLANNING),
    "cuda-compat": Key("cuda_compat", _PLANNING),
    "targets": Key("targets", ("lock",), many=True),
    "format": Key("fmt", ("lock",)),
    "output": Key("output", ("lock",)),
    "installer": Key("installer", ("install",)),
}
RECORD = "locked"  # a pyproject lock's record, written by torchpin lock --format pyproject


class Settings(NamedTuple):
    path: Path | None  # the pyproject.toml they came from
    defaults: dict[str, dict[str, Any]]  # click's default_map: command → parameter → value


def load(start: Path) -> Settings:
    """The project's settings; a malformed table is exit 2 naming the key."""
    path = next((d / "pyproject.toml" for d in (start, *start.parents) if (d / "pyproject.toml").is_file()), None)
    if path is None:
        return Settings(None, {})
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    if "torchpin" not in text:  # the common case costs no TOML parser
        return Settings(None, {})
    table = _table(_ours(text), path)
    if table is None:
        return Settings(None, {})
    defaults: dict[str, dict[str, Any]] = {}
    for key, value in table.items():
        if key == RECORD:
            continue
        known = KEYS.get(key)
        if known is None:
            from torchpin.facts.wheels import nearest_names  # a typo only

            near = nearest_names(key, list(KEYS))
            hint = f"did you mean {' or '.join(near)}?" if near else "known keys: " + ", ".join(KEYS)
            raise UsageError(f"{path} [tool.torchpin]: unknown key {key[:40]!r}", hint=hint)
        ok = (
            isinstance(value, list) and all(isinstance(v, str) for v in value) if known.many else isinstance(value, str)
        )
        if not ok:
            what = "an array of strings" if known.many else "a string"
            raise UsageError(f"{path} [tool.torchpin]: {key} is not {what}")
        # The output is the project's file, wherever in the project torchpin runs.
        kept = tuple(value) if known.many else str(path.parent / value) if key == "output" else value
        for command in known.commands:
            defaults.setdefault(command, {})[known.param] = kept
    return Settings(path, defaults)


_SECTIONS = re.compile(r"(?ms)^[ \t]*\[tool\.torchpin(?:\.[^\]\n]*)?\][^\n]*\n.*?(?=^[ \t]*\[|\Z)")


def _ours(text: str) -> str:
    """Only the ``[tool.torchpin…]`` tables, when that is how the file writes them: parsing a whole
    pyproject costs a project that names torchpin elsewhere (a dependency) ~10 ms a run. Any other
    spelling (a dotted key under ``[tool]``) gets the whole file parsed."""
    sections = _SECTIONS.findall(text)
    if sections:
        return "\n".join(sections)
    # `tool.torchpin.x = …` / `torchpin.x = …` under [tool], or `torchpin = { … }`; not `torchpin = "…"`
    # (a console script's entry names it too).
    dotted = r"(?m)^[ \t]*(tool[ \t]*\.[ \t]*)?torchpin[ \t]*\.|\btorchpin[ \t]*=[ \t]*\{"
    return text if re.search(dotted, text) else ""


def _table(text: str, path: Path) -> dict[str, Any] | None:
    if not text:
        return None
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            doc: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"{path} is not valid TOML: {e}") from None
    else:  # pragma: no cover - Python 3.9 and 3.10
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        try:
            doc = tomlkit.parse(text).unwrap()
        except TOMLKitError as e:
            raise UsageError(f"{path} is not valid TOML: {str(e).splitlines()[0]}") from None
    tool = doc.get("tool")
    table = tool.get("torchpin") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"{path}: tool.torchpin is not a table")
    return table
