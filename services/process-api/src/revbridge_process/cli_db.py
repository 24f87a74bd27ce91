"""The CLI's commands on revbridge's PostgreSQL itself (``DATABASE_URL``), not over the process API:
``revbridge db upgrade|check|create|purge|seed-dimensions``, ``revbridge rebuild`` and ``revbridge export``.

Exit codes as the rest of ``revbridge``: 0 ok, 1 nothing to do (``db check``: the database is behind
this code; ``rebuild``: no fact roles yet), 2 usage (and an invalid config), 3 PostgreSQL
unreachable, 4 failed (the schema is newer than this code, or not at its head; rows the rebuild
could not fold).

``export`` streams with a server-side cursor, ``--chunk-rows`` rows at a time, inside one
REPEATABLE READ read-only transaction: the ledger file and the view files are one snapshot.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import decimal
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg
from psycopg import sql
from revbridge_db import __main__ as db_commands
from revbridge_db import migrate, readmodel, retention
from revbridge_db.engine import SchemaTooNew, create_engine, is_unavailable, libpq_url
from revbridge_db.settings import DbSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process import dimensions
from revbridge_process.cli_client import CliFailure, Exit
from revbridge_process.cli_runs import emit_json, err, out
from revbridge_process.config import ConfigError, load_config

T = TypeVar("T")
FORMATS = ("parquet", "csv")
TIME_COLUMNS = ("inserted_at", "occurred_at", "recorded_at")
LEDGER_COLUMNS = (
    "id",
    "kind",
    "key",
    "system",
    "record_id",
    "contract_id",
    "customer_id",
    "invoice_id",
    "entity",
    "currency",
    "amount",
    "period",
    "status",
    "occurred_at",
    "recorded_at",
    "trace_id",
    "correlation_id",
    "source_event_id",
    "flow",
    "attempt",
    "inserted_at",
)
"""Every column of ``revbridge.ledger_fact`` but ``txid`` (the fold's ordering, of no use outside)."""
OUTCOMES = ("applied", "replaced", "duplicate", "stale", "bad")
MAJOR_SCALE = 6
"""Parquet's decimal scale for ``numeric`` columns (major units have at most 3 decimals)."""
_DB_EXIT = {0: Exit.ok, 1: Exit.nothing, 2: Exit.api_error, 3: Exit.unreachable}
"""``python -m revbridge_db``'s codes (2 = a newer schema, refused) as the CLI's."""

database_url_option = click.option(
    "--database-url", default=None, metavar="URL", help="default: DATABASE_URL (or REVBRIDGE_DB_URL)"
)


def _url(given: str | None) -> str:
    return given or DbSettings().url


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a database that does not answer is exit 3, a schema at the wrong revision 4,
    a ``CliFailure`` its code (stderr says why)."""
    ctx = click.get_current_context()
    try:
        return action()
    except CliFailure as failure:
        if not failure.quiet:
            err.print(f"[red]error:[/red] {failure.message}", highlight=False)
        ctx.exit(int(failure.code))
    except SchemaTooNew as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        ctx.exit(int(Exit.api_error))
    except Exception as exc:
        if isinstance(exc, psycopg.OperationalError) or is_unavailable(exc):
            err.print(f"[red]error:[/red] PostgreSQL does not answer: {exc}".rstrip(), highlight=False)
            ctx.exit(int(Exit.unreachable))
        raise
    raise AssertionError("unreachable")  # ctx.exit raises


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    conn = psycopg.connect(libpq_url(url), connect_timeout=5)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()
    return conn


def require_head(conn: psycopg.Connection[Any]) -> None:
    """Refuse (``SchemaTooNew``) a database this code's views and tables are not exactly at."""
    try:
        row = conn.execute("SELECT version_num FROM revbridge.alembic_version").fetchone()
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        row = None
    current = row[0] if row else None
    migrate.refuse_newer(current)
    if current != migrate.head():
        raise SchemaTooNew(
            f"database schema is at {current or 'nothing'}, this revbridge needs {migrate.head()}: "
            f"run `revbridge db upgrade`"
        )
    conn.rollback()


# --- revbridge db ------------------------------------------------------------------------------


@click.group("db")
def db() -> None:
    """revbridge's PostgreSQL: migrations and the BI tables (DATABASE_URL).

    \b
    Example:
      revbridge db upgrade
    """


def _db_command(command: str, url: str | None) -> None:
    code = db_commands.run(command, url)
    if code:
        click.get_current_context().exit(int(_DB_EXIT.get(code, Exit.api_error)))


@db.command("upgrade")
@database_url_option
def db_upgrade(database_url: str | None) -> None:
    """Migrate the database to this code's head (exit 4: it is newer than this code).

    \b
    Example:
      DATABASE_URL=postgresql://postgres@127.0.0.1:5432/revbridge revbridge db upgrade
    """
    _db_command("upgrade", database_url)


@db.command("check")
@database_url_option
def db_check(database_url: str | None) -> None:
    """Say whether the database is at this code's head (exit 1 behind, 4 newer, 3 unreachable).

    \b
    Example:
      revbridge db check
    """
    _db_command("check", database_url)


@db.command("create")
@database_url_option
def db_create(database_url: str | None) -> None:
    """Create the database of DATABASE_URL when it is not there (then `revbridge db upgrade`).

    \b
    Example:
      revbridge db create
    """
    _db_command("create", database_url)


@db.command("purge")
@database_url_option
@click.option(
    "--years", type=click.IntRange(1, 100), default=None, help="default: REVBRIDGE_DB_RETENTION_YEARS (7)"
)
@click.option("--json", "as_json", is_flag=True)
def db_purge(database_url: str | None, years: int | None, as_json: bool) -> None:
    """Delete ledger and audit rows older than the retention (the only deletion there is).

    \b
    Example:
      revbridge db purge --years 7
    """
    url, keep = _url(database_url), years or DbSettings().retention_years

    def action() -> dict[str, int]:
        with _connect(url) as conn:
            require_head(conn)
        return _on_engine(url, lambda engine: retention.purge(engine, keep))

    deleted = _guarded(action)
    if as_json:
        emit_json({"retention_years": keep, "deleted": deleted})
    else:
        shown = ", ".join(f"{n} from {table}" for table, n in deleted.items())
        out.print(f"kept {keep} years; deleted {shown}", highlight=False)


@db.command("seed-dimensions")
@click.option(
    "--config-dir",
    envvar="REVBRIDGE_CONFIG_DIR",
    default="config",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="the directory of mappings.yaml (env REVBRIDGE_CONFIG_DIR)",
)
@database_url_option
@click.option("--json", "as_json", is_flag=True)
def seed_dimensions(config_dir: Path, database_url: str | None, as_json: bool) -> None:
    """Write the legal entities and products of config/mappings.yaml to analytics.ref_legal_entity
    and analytics.ref_product (dim_entity's names, dim_product), replacing what was there. The
    process API does this at start-up; this is for a database no process API has started on.

    \b
    Example:
      revbridge db seed-dimensions --config-dir config
    """

    def action() -> dict[str, int]:
        try:
            mappings = load_config(config_dir).mappings
        except ConfigError as exc:
            raise CliFailure(Exit.usage, str(exc)) from exc
        url = _url(database_url)
        with _connect(url) as conn:
            require_head(conn)
        return _on_engine(url, lambda engine: dimensions.seed(engine, mappings))

    counts = _guarded(action)
    if as_json:
        emit_json(counts)
    else:
        out.print(
            f"seeded {counts['legal_entities']} legal entities and {counts['products']} products",
            highlight=False,
        )


def _on_engine(url: str, use: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``use`` on an engine of its own, disposed of afterwards."""

    async def go() -> T:
        engine = create_engine(url=url)
        try:
            return await use(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


# --- revbridge rebuild ---------------------------------------------------------------------------


@click.command()
@database_url_option
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True)
def rebuild(database_url: str | None, batch: int, as_json: bool) -> None:
    """Empty the read model and fold the whole ledger again; prints what each ledger row did.

    Reports read partial figures until it ends. Exit 1 when the fact roles (revbridge.rm_role) are
    not there yet (start the experience projector once: it writes them), 4 when rows could not be
    folded (each is in revbridge.rm_bad with its reason).

    \b
    Example:
      revbridge rebuild
    """
    url = _url(database_url)

    def action() -> dict[str, Any]:
        with _connect(url) as conn:
            require_head(conn)
        return asyncio.run(_rebuild(url, batch))

    result = _guarded(action)
    if as_json:
        emit_json(result)
    else:
        counts = result["outcomes"]
        shown = ", ".join(f"{counts.get(k, 0)} {k}" for k in OUTCOMES)
        out.print(f"folded {result['folded']} ledger row(s): {shown}", highlight=False)
        out.print(f"the read model holds {result['facts']} fact(s)", highlight=False)
        if result["left_to_the_projector"]:
            err.print(
                f"{result['left_to_the_projector']} row(s) wait behind a transaction still open on the "
                "server; the projector folds them when it ends",
                highlight=False,
            )
        for reason, n in result["bad_reasons"].items():
            err.print(f"  {n} x {reason}", highlight=False)
    if result["outcomes"].get("bad"):
        err.print(
            f"[red]error:[/red] {result['outcomes']['bad']} row(s) could not be folded "
            "(revbridge.rm_bad has each with its reason)",
            highlight=False,
        )
        click.get_current_context().exit(int(Exit.api_error))


async def _rebuild(url: str, batch: int, wait_seconds: float = 60.0) -> dict[str, Any]:
    engine = create_engine(url=url)
    try:
        async with engine.connect() as conn:
            roles = (await conn.execute(text("SELECT count(*) FROM revbridge.rm_role"))).scalar_one()
        if not roles:
            raise CliFailure(
                Exit.nothing,
                "revbridge.rm_role is empty: start the experience projector once (it writes what each "
                "fact kind contributes), then rebuild",
            )
        async with engine.connect() as conn:
            last = (await conn.execute(text("SELECT max(id) FROM revbridge.ledger_fact"))).scalar_one() or 0
        counts = await readmodel.rebuild(engine, batch)
        # the fold takes only rows of transactions older than every running one (anywhere on the
        # server): while one is open, wait for it, so every row there at the start is folded
        left = await _unfolded(engine, last)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while left and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
            for k, v in (await readmodel.fold_all(engine, batch)).items():
                counts[k] = counts.get(k, 0) + v
            left = await _unfolded(engine, last)
        async with engine.connect() as conn:
            facts = (await conn.execute(text("SELECT count(*) FROM revbridge.rm_fact"))).scalar_one()
            reasons = (
                await conn.execute(
                    text(
                        "SELECT left(reason, 200) AS reason, count(*) FROM revbridge.rm_bad "
                        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return {
        "outcomes": counts,
        "folded": sum(counts.values()),
        "facts": int(facts),
        "left_to_the_projector": left,
        "bad_reasons": {r: int(n) for r, n in reasons},
    }


UNFOLDED = text(readmodel.UNFOLDED_SQL.replace(" WHERE ", " WHERE l.id <= :last AND ", 1))


async def _unfolded(engine: AsyncEngine, last: int) -> int:
    """Ledger rows up to id ``last`` not folded yet."""
    async with engine.connect() as conn:
        return int((await conn.execute(UNFOLDED, {"last": last})).scalar_one())


# --- revbridge export ----------------------------------------------------------------------------


@click.command()
@click.option(
    "--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="from this day (00:00 UTC), inclusive"
)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="to this day (00:00 UTC), exclusive")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--on",
    "time_column",
    type=click.Choice(TIME_COLUMNS),
    default="inserted_at",
    show_default=True,
    help="the ledger time --since/--until select on: inserted_at (when revbridge recorded the row) "
    "puts a fact that arrives late in the next range",
)
@click.option("--views/--no-views", default=False, help="also every analytics view, whole (current state)")
@click.option("--chunk-rows", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
@database_url_option
@click.option("--json", "as_json", is_flag=True, help="print the manifest as JSON")
def export(
    since: dt.datetime,
    until: dt.datetime | None,
    fmt: str,
    out_dir: Path,
    time_column: str,
    views: bool,
    chunk_rows: int,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Export the ledger rows of a time range (the warehouse feed: every version of every fact) to
    OUT/ledger_fact.parquet or .csv, with --views each analytics view too, and OUT/manifest.json.

    An empty range still writes its (empty) files: exit 0.

    \b
    Example:
      revbridge export --since 2026-11-01 --until 2026-12-01 --format parquet --out ./feed
    """
    start = since.replace(tzinfo=dt.UTC)
    end = until.replace(tzinfo=dt.UTC) if until else None
    if end is not None and end <= start:
        raise click.UsageError("--until must be after --since")

    def action() -> dict[str, Any]:
        with _connect(_url(database_url)) as conn:
            require_head(conn)
            try:
                return export_to(conn, out_dir, fmt, start, end, time_column, views, chunk_rows)
            except OSError as exc:
                raise CliFailure(Exit.api_error, f"cannot write the export to {out_dir}: {exc}") from exc

    manifest = _guarded(action)
    if as_json:
        emit_json(manifest)
        return
    for entry in manifest["files"]:
        out.print(f"{entry['rows']:>10} rows  {out_dir / entry['file']}", highlight=False)


def ledger_query(time_column: str, bounded: bool) -> sql.Composed:
    column = sql.Identifier(time_column)
    where = sql.SQL("{} >= %(since)s").format(column)
    if bounded:
        where = sql.SQL("{} AND {} < %(until)s").format(where, column)
    return sql.SQL("SELECT {} FROM revbridge.ledger_fact WHERE {} ORDER BY id").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in LEDGER_COLUMNS), where
    )


def analytics_views(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'analytics' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def export_to(
    conn: psycopg.Connection[Any],
    out_dir: Path,
    fmt: str,
    since: dt.datetime,
    until: dt.datetime | None,
    time_column: str = "inserted_at",
    views: bool = False,
    chunk_rows: int = 10_000,
) -> dict[str, Any]:
    """Write the files and the manifest; returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    files: list[dict[str, Any]] = []
    with conn.transaction():
        params = {"since": since, "until": until}
        query = ledger_query(time_column, until is not None)
        rows = _write(conn, query, params, out_dir / f"ledger_fact.{fmt}", fmt, chunk_rows)
        files.append({"file": f"ledger_fact.{fmt}", "source": "revbridge.ledger_fact", "rows": rows})
        for view in analytics_views(conn) if views else []:
            query = sql.SQL("SELECT * FROM analytics.{}").format(sql.Identifier(view))
            rows = _write(conn, query, {}, out_dir / f"{view}.{fmt}", fmt, chunk_rows)
            files.append({"file": f"{view}.{fmt}", "source": f"analytics.{view}", "rows": rows})
    manifest = {
        "since": since.isoformat(),
        "until": until.isoformat() if until else None,
        "on": time_column,
        "format": fmt,
        "schema_revision": migrate.head(),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, moved onto it when the block succeeds."""
    partial = path.with_name(path.name + ".partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _write(
    conn: psycopg.Connection[Any],
    query: sql.Composed,
    params: dict[str, Any],
    path: Path,
    fmt: str,
    chunk_rows: int,
) -> int:
    """Stream ``query`` into ``path`` through a server-side cursor; returns the row count."""
    total = 0
    with conn.cursor(name="revbridge_export") as cur, _replacing(path) as partial:
        cur.itersize = chunk_rows
        cur.execute(query, params)
        assert cur.description is not None
        names = [c.name for c in cur.description]
        oids = [c.type_code for c in cur.description]
        writer = _ParquetFile(partial, names, oids) if fmt == "parquet" else _CsvFile(partial, names)
        try:
            while chunk := cur.fetchmany(chunk_rows):
                writer.write(chunk)
                total += len(chunk)
        finally:
            writer.close()
    return total


class _CsvFile:
    """RFC 4180 CSV with a header; NULL is an empty field, times ISO 8601 in UTC, decimals plain."""

    def __init__(self, path: Path, names: Sequence[str]) -> None:
        self._file = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(names)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._csv.writerows([csv_value(v) for v in row] for row in rows)

    def close(self) -> None:
        self._file.close()


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _ParquetFile:
    """Parquet (zstd), one row group per chunk, columns typed from PostgreSQL's type of each."""

    def __init__(self, path: Path, names: Sequence[str], oids: Sequence[int]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._types = [arrow_type(oid) for oid in oids]
        self._schema = pa.schema([pa.field(n, t) for n, t in zip(names, self._types, strict=True)])
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        pa = self._pa
        columns = list(zip(*rows, strict=True))
        arrays = [
            pa.array(values if t != pa.string() else [_text(v) for v in values], type=t)
            for values, t in zip(columns, self._types, strict=True)
        ]
        self._writer.write_batch(pa.record_batch(arrays, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return csv_value(value)


def arrow_type(oid: int) -> Any:
    """The Arrow type of a PostgreSQL column type (by OID); text for any other."""
    import pyarrow as pa

    known = {
        16: pa.bool_(),
        20: pa.int64(),
        21: pa.int16(),
        23: pa.int32(),
        700: pa.float32(),
        701: pa.float64(),
        1700: pa.decimal128(38, MAJOR_SCALE),
        1082: pa.date32(),
        1114: pa.timestamp("us"),
        1184: pa.timestamp("us", tz="UTC"),
    }
    return known.get(oid, pa.string())
