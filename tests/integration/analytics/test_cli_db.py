"""``revbridge db``, ``rebuild`` and ``export`` on a real database: the export streams the ledger rows
of a range to Parquet and CSV (read back here), the rebuild folds the ledger again and says what each
row did, and each outcome has the CLI's exit code."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner, Result
from revbridge_contracts.facts import FactKind
from revbridge_db import ledger
from revbridge_process.cli import main

from tests.integration.analytics.conftest import ROOT, T0, load, make

DAY = dt.timedelta(days=1)


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def rows_inserted_on(when: dt.datetime, key: str, amount: int, recorded: dt.datetime) -> dict[str, object]:
    item = make(FactKind.invoice_billed, key, amount, recorded_at=recorded)
    return ledger.fact_row(item, flow="invoice_posting") | {"inserted_at": when}


def test_export_writes_the_ledger_rows_of_the_range_as_parquet_and_csv(
    database_url: str, tmp_path: Path
) -> None:
    nov_1 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    load(
        database_url,
        [],
        [
            rows_inserted_on(nov_1 - dt.timedelta(seconds=1), "in_0", 100, T0),  # before the range
            rows_inserted_on(nov_1, "in_1", 12_000, T0),  # the range includes --since
            rows_inserted_on(nov_1 + 3 * DAY, "in_1", 9_000, T0 + DAY),  # a newer version: a row too
            rows_inserted_on(nov_1 + 30 * DAY, "in_2", 700, T0),  # --until excludes its own day
        ],
    )
    common = ["--since", "2026-11-01", "--until", "2026-12-01", "--database-url", database_url]
    parquet = cli(
        "export", *common, "--format", "parquet", "--out", str(tmp_path / "p"), "--views", "--chunk-rows", "1"
    )
    assert parquet.exit_code == 0, parquet.output
    table = pq.read_table(tmp_path / "p" / "ledger_fact.parquet")
    assert table.column("key").to_pylist() == ["in_1", "in_1"]
    assert table.column("amount").to_pylist() == [12_000, 9_000]
    assert table.column("flow").to_pylist() == ["invoice_posting"] * 2
    assert table.schema.field("amount").type == pa.int64()
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("occurred_at").to_pylist()[0] == T0
    assert "txid" not in table.column_names
    assert pq.ParquetFile(tmp_path / "p" / "ledger_fact.parquet").metadata.num_row_groups == 2  # streamed
    billings = pq.read_table(tmp_path / "p" / "fact_billings.parquet")  # the views: the current state
    amounts = dict(
        zip(billings.column("key").to_pylist(), billings.column("amount").to_pylist(), strict=True)
    )
    assert amounts == {"in_0": Decimal("1.00"), "in_1": Decimal("90.00"), "in_2": Decimal("7.00")}
    assert billings.schema.field("amount").type == pa.decimal128(38, 6)
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["files"][0] == {
        "file": "ledger_fact.parquet",
        "source": "revbridge.ledger_fact",
        "rows": 2,
    }
    assert {f["source"] for f in manifest["files"]} >= {"analytics.fact_billings", "analytics.dim_period"}
    assert not list((tmp_path / "p").glob("*.partial"))

    as_csv = cli("export", *common, "--format", "csv", "--out", str(tmp_path / "c"))
    assert as_csv.exit_code == 0, as_csv.output
    with (tmp_path / "c" / "ledger_fact.csv").open(newline="") as f:
        read = list(csv.DictReader(f))
    assert [(r["key"], r["amount"], r["attempt"]) for r in read] == [
        ("in_1", "12000", ""),
        ("in_1", "9000", ""),
    ]
    assert dt.datetime.fromisoformat(read[0]["occurred_at"]) == T0
    assert not (tmp_path / "c" / "fact_billings.csv").exists()  # no --views

    everything = cli(
        "export",
        "--since",
        "2026-01-01",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "a"),
        "--database-url",
        database_url,
        "--json",
    )
    assert json.loads(everything.stdout)["files"][0]["rows"] == 4


def test_export_refuses_a_range_that_ends_before_it_starts(tmp_path: Path) -> None:
    result = cli("export", "--since", "2026-11-02", "--until", "2026-11-01", "--out", str(tmp_path))
    assert result.exit_code == 2 and "--until must be after --since" in result.output


def test_rebuild_folds_the_ledger_again_and_says_what_each_row_did(database_url: str) -> None:
    url = ["--database-url", database_url]
    load(database_url, [make(FactKind.invoice_billed, "in_1", 12_000)], fold=False)
    nothing = cli("rebuild", *url)  # no fact roles yet: the projector has never run
    assert nothing.exit_code == 1 and "rm_role is empty" in nothing.output
    newer = make(FactKind.invoice_billed, "in_1", 9_000, recorded_at=T0 + DAY)
    load(database_url, [newer, make(FactKind.invoice_billed, "in_2", 500)])
    result = cli("rebuild", *url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["outcomes"] == {"applied": 2, "replaced": 1} and report["facts"] == 2
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT sum(amount_minor) FROM analytics.fact_billings").fetchone() == (9_500,)
        conn.execute(
            "INSERT INTO revbridge.ledger_fact (kind, key, system, record_id, occurred_at, "
            "recorded_at) VALUES ('no.such.kind', 'k', 'billing', 'k', now(), now())"
        )
    bad = cli("rebuild", *url)
    assert bad.exit_code == 4 and "1 row(s) could not be folded" in bad.output
    assert "2 applied, 1 replaced, 0 duplicate, 0 stale, 1 bad" in bad.output


def test_db_check_upgrade_seed_and_an_unreachable_database(database_url: str, tmp_path: Path) -> None:
    url = ["--database-url", database_url]
    assert cli("db", "check", *url).exit_code == 0
    assert cli("db", "upgrade", *url).exit_code == 0
    seeded = cli("db", "seed-dimensions", "--config-dir", str(ROOT / "config"), *url)
    assert seeded.exit_code == 0 and "seeded 2 legal entities and 4 products" in seeded.output
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE revbridge.alembic_version SET version_num = '0003'")
    behind = cli("db", "check", *url)
    assert behind.exit_code == 1 and "revbridge db upgrade" in behind.output
    assert cli("export", "--since", "2026-01-01", "--out", str(tmp_path), *url).exit_code == 4  # not at head
    gone = "postgresql://postgres@127.0.0.1:1/nothing"
    assert cli("db", "check", "--database-url", gone).exit_code == 3
    assert cli("rebuild", "--database-url", gone).exit_code == 3
