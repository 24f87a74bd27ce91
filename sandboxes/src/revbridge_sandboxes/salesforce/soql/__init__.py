"""A small SOQL implementation: tokenizer, recursive-descent parser and an evaluator over the store.

Covers what revbridge's CRM adapter sends (field lists with relationship paths, COUNT, WHERE with
comparison/IN/LIKE/boolean logic, date literals, ORDER BY, LIMIT, OFFSET). Nothing is ``eval``-ed.
"""

from .ast import Query
from .parser import parse

__all__ = ["Query", "parse"]
