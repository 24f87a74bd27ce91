"""The revenue flows. Each reads current state from the systems of record through ``SystemPort``
and converges the targets with keyed upserts, so a duplicate or reordered event changes nothing."""
