"""fleet: many machines, one lock or one per group. Their inventories (``nodes``), their kinds and
the build for all (``plan``, pure), and the index of a split fleet's locks (``split``)."""

# What marks a split fleet's index (``split.index_doc``), told apart from a lock by its first bytes.
INDEX_KIND = "torchpin fleet index"


def is_index(text: str) -> bool:
    """Whether ``text`` is a split fleet's index rather than a lock (no fleet module loads for a lock)."""
    return text.lstrip().startswith("{") and f'"{INDEX_KIND}"' in text[:2000]
