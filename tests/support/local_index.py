"""A PEP 503 index on disk (file:// URLs), laid out like download.pytorch.org/whl/<variant>/."""

from __future__ import annotations

import html
import urllib.parse
from collections import defaultdict
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename


def write_simple_index(root: Path, wheels: list[Path]) -> str:
    """Copy ``wheels`` under ``root/<project>/`` with index pages; return the root as a file URL."""
    by_project: dict[str, list[Path]] = defaultdict(list)
    for w in wheels:
        by_project[str(canonicalize_name(parse_wheel_filename(w.name)[0]))].append(w)
    root.mkdir(parents=True, exist_ok=True)
    for project, files in by_project.items():
        pdir = root / project
        pdir.mkdir(exist_ok=True)
        links = []
        for w in sorted(files):
            (pdir / w.name).write_bytes(w.read_bytes())
            # The real index percent-encodes '+' as %2B in hrefs.
            links.append(f'    <a href="{urllib.parse.quote(w.name)}">{html.escape(w.name)}</a><br/>')
        (pdir / "index.html").write_text(
            "<!DOCTYPE html>\n<html>\n  <body>\n" + "\n".join(links) + "\n  </body>\n</html>\n"
        )
    projects = "\n".join(f'    <a href="{p}/">{p}</a><br/>' for p in sorted(by_project))
    (root / "index.html").write_text(f"<!DOCTYPE html>\n<html>\n  <body>\n{projects}\n  </body>\n</html>\n")
    return root.as_uri()
