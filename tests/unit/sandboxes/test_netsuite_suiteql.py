"""The sandbox's SuiteQL engine without I/O: tokenizer, parser and evaluator over small tables."""

from __future__ import annotations

import pytest
from revbridge_sandboxes.netsuite.suiteql.errors import SuiteQLError
from revbridge_sandboxes.netsuite.suiteql.evaluate import Table, execute
from revbridge_sandboxes.netsuite.suiteql.lexer import tokenize
from revbridge_sandboxes.netsuite.suiteql.parser import parse
from revbridge_sandboxes.netsuite.suiteql.syntax import (
    Aggregate,
    Column,
    Compare,
    InList,
    IsNull,
    Like,
    Literal,
    Logical,
    Not,
    Star,
)

pytestmark = pytest.mark.unit

CUSTOMERS = Table(
    ("id", "companyname", "subsidiary", "email"),
    [
        {"id": 1, "companyname": "Acme", "subsidiary": 1, "email": "a@acme.test"},
        {"id": 2, "companyname": "Beta", "subsidiary": 2, "email": None},
        {"id": 3, "companyname": "Apex", "subsidiary": 1, "email": "x@apex.test"},
        {"id": 4, "companyname": "O'Neil", "subsidiary": 3, "email": None},
    ],
)
TRANSACTIONS = Table(
    ("id", "type", "entity", "foreigntotal"),
    [
        {"id": 10, "type": "CustInvc", "entity": 1, "foreigntotal": 100.0},
        {"id": 11, "type": "CustInvc", "entity": 1, "foreigntotal": 50.5},
        {"id": 12, "type": "CustPymt", "entity": 1, "foreigntotal": 100.0},
        {"id": 13, "type": "CustInvc", "entity": 3, "foreigntotal": 20.0},
    ],
)
TABLES = {"customer": CUSTOMERS, "transaction": TRANSACTIONS}


def run(q: str) -> list[dict[str, object]]:
    return execute(parse(q), TABLES)


def test_tokenizer_reads_keywords_case_insensitively_and_unescapes_quotes() -> None:
    tokens = tokenize("select Id from Customer where name = 'O''Neil' and x <> 1.5")
    assert [(t.kind, t.value) for t in tokens[:4]] == [
        ("KEYWORD", "SELECT"),
        ("IDENT", "id"),
        ("KEYWORD", "FROM"),
        ("IDENT", "customer"),
    ]
    assert ("STRING", "O'Neil") in [(t.kind, t.value) for t in tokens]
    assert ("OP", "<>") in [(t.kind, t.value) for t in tokens]
    assert ("NUMBER", "1.5") in [(t.kind, t.value) for t in tokens]


def test_tokenizer_rejects_unterminated_strings_and_stray_characters() -> None:
    with pytest.raises(SuiteQLError, match="Unterminated"):
        tokenize("SELECT 'abc FROM customer")
    with pytest.raises(SuiteQLError, match="Unexpected character ';'"):
        tokenize("SELECT id FROM customer;")


def test_parser_builds_the_tree_with_precedence_and_aliases() -> None:
    query = parse(
        "SELECT c.id AS cid, COUNT(*) n FROM customer c LEFT JOIN transaction t ON t.entity = c.id "
        "WHERE NOT c.id IN (1, 2) OR c.email IS NOT NULL AND c.companyname LIKE 'A%' "
        "GROUP BY c.id ORDER BY n DESC, cid"
    )
    assert query.select[0].expr == Column("id", "c") and query.select[0].alias == "cid"
    assert query.select[1].expr == Aggregate("COUNT", Star()) and query.select[1].alias == "n"
    assert (query.source.name, query.source.alias) == ("customer", "c")
    assert query.joins[0].left and query.joins[0].on == Compare("=", Column("entity", "t"), Column("id", "c"))
    assert query.where == Logical(
        "OR",
        Not(InList(Column("id", "c"), (Literal(1), Literal(2)))),
        Logical(
            "AND", IsNull(Column("email", "c"), negated=True), Like(Column("companyname", "c"), Literal("A%"))
        ),
    )
    assert [(o.expr, o.descending) for o in query.order_by] == [(Column("n"), True), (Column("cid"), False)]


@pytest.mark.parametrize(
    ("q", "problem"),
    [
        ("SELECT id FROM customer WHERE", "Unexpected 'end of query'"),
        ("SELECT id customer", "Expected FROM"),
        ("SELECT id FROM customer ORDER id", "Expected BY"),
        ("SELECT id FROM customer WHERE id IN 1", r"Expected \("),
        ("SELECT UPPER(id) FROM customer", "Unsupported function 'UPPER'"),
        ("SELECT id FROM customer extra junk", "Unexpected 'junk'"),
        ("SELECT SUM(*) FROM customer", r"SUM\(\*\) is not allowed"),
    ],
)
def test_malformed_queries_name_the_problem(q: str, problem: str) -> None:
    with pytest.raises(SuiteQLError, match=problem):
        parse(q)


def test_where_comparisons_like_in_and_null_filter_rows() -> None:
    assert [r["id"] for r in run("SELECT id FROM customer WHERE companyname LIKE 'A%' ORDER BY id")] == [1, 3]
    assert [r["id"] for r in run("SELECT id FROM customer WHERE email IS NULL ORDER BY id")] == [2, 4]
    assert [r["id"] for r in run("SELECT id FROM customer WHERE id NOT IN (1, 2) ORDER BY id DESC")] == [4, 3]
    assert [r["id"] for r in run("SELECT id FROM customer WHERE id >= '2' AND id <> 3 ORDER BY id")] == [2, 4]
    assert [r["id"] for r in run("SELECT id FROM customer WHERE (id = 1 OR id = 4) AND NOT id = 1")] == [4]
    assert [r["id"] for r in run("SELECT id FROM customer WHERE companyname = 'O''Neil'")] == [4]


def test_a_comparison_with_null_is_unknown_so_the_row_is_dropped() -> None:
    assert run("SELECT id FROM customer WHERE email != 'a@acme.test'") == [{"id": 3}]
    assert len(run("SELECT id FROM customer WHERE NOT email = 'zzz'")) == 2


def test_join_left_join_and_qualified_columns() -> None:
    inner = run(
        "SELECT c.companyname, t.id AS tid FROM customer c JOIN transaction t ON t.entity = c.id ORDER BY tid"
    )
    assert [(r["companyname"], r["tid"]) for r in inner] == [
        ("Acme", 10),
        ("Acme", 11),
        ("Acme", 12),
        ("Apex", 13),
    ]
    outer = run(
        "SELECT c.id, t.id AS tid FROM customer c LEFT JOIN transaction t ON t.entity = c.id "
        "WHERE t.id IS NULL ORDER BY c.id"
    )
    assert outer == [{"id": 2, "tid": None}, {"id": 4, "tid": None}]


def test_aggregates_with_and_without_group_by() -> None:
    assert run("SELECT COUNT(*) AS n FROM customer") == [{"n": 4}]
    assert run("SELECT COUNT(email) FROM customer") == [{"expr1": 2}]
    assert run("SELECT COUNT(*) AS n, SUM(foreigntotal) AS s FROM transaction WHERE id > 99") == [
        {"n": 0, "s": None}
    ]
    grouped = run(
        "SELECT entity, COUNT(*) AS n, SUM(foreigntotal) AS total FROM transaction "
        "WHERE type = 'CustInvc' GROUP BY entity ORDER BY total DESC"
    )
    assert grouped == [{"entity": 1, "n": 2, "total": 150.5}, {"entity": 3, "n": 1, "total": 20.0}]


def test_order_by_puts_nulls_last_ascending_and_supports_several_keys() -> None:
    rows = run("SELECT id, email FROM customer ORDER BY email, id DESC")
    assert [r["id"] for r in rows] == [1, 3, 4, 2]


def test_semantic_errors_name_the_field_or_table() -> None:
    unknown = r"Unknown identifier 'nope'. Available identifiers are: \{customer=customer\}"
    with pytest.raises(SuiteQLError, match=unknown):
        run("SELECT nope FROM customer")
    with pytest.raises(SuiteQLError, match="Field 'nope' for record 'customer' was not found"):
        run("SELECT c.nope FROM customer c")
    with pytest.raises(SuiteQLError, match="Record 'vendor' was not found"):
        run("SELECT id FROM vendor")
    with pytest.raises(SuiteQLError, match="ambiguous"):
        run("SELECT id FROM customer c JOIN transaction t ON t.entity = c.id")
    with pytest.raises(SuiteQLError, match="must appear in the GROUP BY"):
        run("SELECT companyname, COUNT(*) FROM customer")
    with pytest.raises(SuiteQLError, match="Unknown identifier 'x'"):
        run("SELECT x.id FROM customer c")


def test_select_star_returns_every_column() -> None:
    assert run("SELECT * FROM customer WHERE id = 2") == [CUSTOMERS.rows[1]]
