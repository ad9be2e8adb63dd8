"""Where a plan's files come from (pure): the value the policy is handed, validated once by the caller.

The catalog says what exists; ``Sources`` says where to fetch it. Keeping the two apart means
the same catalog serves every mirror, and ``detect`` and ``lock`` plan through one function.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from torchpin.models import Variant

DEFAULT_PYTORCH_INDEX = "https://download.pytorch.org/whl"
DEFAULT_PYPI_INDEX = "https://pypi.org/simple"

Label = Literal["snapshot", "live"]


class Sources(NamedTuple):
    """Credential-free index roots, and where the facts the policy read came from."""

    pytorch: str = DEFAULT_PYTORCH_INDEX  # pages at <pytorch>/<variant>/<project>/
    find_links: str | None = None  # a flat mirror: <find_links>/<variant>/ lists every wheel
    pypi: str = DEFAULT_PYPI_INDEX  # everything else (or a PyPI proxy: Artifactory, devpi …)
    label: Label = "snapshot"
    detail: str = ""

    def variant_index(self, variant: Variant) -> str:
        """The index (or flat page) a variant's wheels come from."""
        if self.find_links is not None:
            return f"{self.find_links.rstrip('/')}/{variant.name}/"
        return f"{self.pytorch.rstrip('/')}/{variant.name}"


DEFAULT_SOURCES = Sources()
