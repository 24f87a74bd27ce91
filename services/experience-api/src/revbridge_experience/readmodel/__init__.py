"""The experience API's read model: ledger facts folded into Redis (see ``keys`` for the layout)."""
