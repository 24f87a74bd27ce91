"""A small SOQL implementation: tokenizer, recursive-descent parser and an evaluator over the store.

Covers what revbridge's CRM adapter sends (field lists with relationship paths, COUNT, WHERE with
comparison/IN/LIKE/boolean logic, date literals, ORDER BY, LIMIT, OFFSET). Nothing is ``eval``-ed.
"""

from ..errors import SalesforceError
from .ast import Query
from .parser import parse

__all__ = ["Query", "locate", "parse"]


def locate(error: SalesforceError, text: str) -> SalesforceError:
    """Salesforce's multi-line form of a SOQL error: the query row, a caret under the column, then
    ``ERROR at Row:r:Column:c`` (both 1-based) and the detail.

    guess: for long queries Salesforce echoes only a window of the row around the error; the
    sandbox echoes the whole row.
    """
    if error.pos is None or error.message.startswith("\n"):
        return error
    pos = max(0, min(error.pos, len(text)))
    row = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    column = pos - start + 1
    error.message = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{error.message}"
    return error
