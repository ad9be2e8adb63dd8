"""facts (pure): what is known. ``snapshot`` parses the embedded ``wheel_index.json`` into a
``catalog.Catalog``; ``live`` folds index pages into it; ``simple`` reads PEP 503 / 691 pages;
``wheels`` reads wheel and variant names (the one variant grammar); ``variants`` a
variants.json's stated GPU lists."""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from .catalog import Catalog
    from .live import declarations_wanted, merge, torch_declaration, with_declarations
    from .pyg import merge_pyg
    from .simple import Link, parse_html, parse_page
    from .snapshot import load_catalog
    from .variants import stated_arch, variants_wanted, with_stated_arch

__getattr__ = face(
    __name__,
    {
        "Catalog": "catalog",
        "load_catalog": "snapshot",
        "Link": "simple",
        "parse_html": "simple",
        "parse_page": "simple",
        "declarations_wanted": "live",
        "merge": "live",
        "merge_pyg": "pyg",
        "torch_declaration": "live",
        "with_declarations": "live",
        "stated_arch": "variants",
        "variants_wanted": "variants",
        "with_stated_arch": "variants",
    },
)
__all__ = [
    "Catalog",
    "Link",
    "declarations_wanted",
    "load_catalog",
    "merge",
    "merge_pyg",
    "parse_html",
    "parse_page",
    "stated_arch",
    "torch_declaration",
    "variants_wanted",
    "with_declarations",
    "with_stated_arch",
]
