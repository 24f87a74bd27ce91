"""The one error the SuiteQL engine raises; its message names the problem and where it is."""

from __future__ import annotations


class SuiteQLError(ValueError):
    """A query that cannot be tokenized, parsed or evaluated."""
