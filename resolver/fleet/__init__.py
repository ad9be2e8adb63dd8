"""fleet: many machines, one lock or one per group. Their inventories (``nodes``), their kinds and
the build for all (``plan``, pure), and the index of a split fleet's locks (``split``)."""
