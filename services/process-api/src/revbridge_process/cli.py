"""``revbridge``: the operator CLI for the exception queue, replays and reconciliation, over the
process API's HTTP; and (``cli_db``) ``db``, ``rebuild`` and ``export`` on the database itself.

Exit codes: 0 ok, 1 not found / nothing to do, 2 usage, 3 API unreachable, 4 API error (or a
failed run), 5 a reconciliation found differences. Tables and progress go to the terminal;
``--json`` prints the API's answer as JSON on stdout for scripts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from revbridge_contracts.process import ReconciliationPair, ReplayFlow
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from revbridge_process import cli_db, cli_runs
from revbridge_process.cli_client import DEFAULT_API, CliFailure, Exit, ProcessApi
from revbridge_process.cli_runs import emit_json as _emit_json
from revbridge_process.cli_runs import err, out
from revbridge_process.cli_runs import run as _run

REPLAY_CHUNK = 50
STATUSES = ("open", "retrying", "resolved")
COLUMNS = ("id", "flow", "business_key", "error_class", "owner", "status", "attempts", "sla_due", "last_seen")
WIDE = 120
LEGEND = "id = flow:business key · tries = attempts · SLA due in UTC, red when overdue"
PAIRS = tuple(pair.value for pair in ReconciliationPair)


@click.group()
@click.option("--api", envvar="REVBRIDGE_PROCESS_API_URL", default=DEFAULT_API, show_default=True)
@click.option("--token", envvar="REVBRIDGE_TOKEN", default=None, help="bearer token (through the gateway)")
@click.pass_context
def main(ctx: click.Context, api: str, token: str | None) -> None:
    """Work the revbridge exception queue and replay events.

    \b
    Example:
      revbridge exceptions list --overdue
    """
    ctx.ensure_object(dict).update(api=api, token=token)


@main.group()
def exceptions() -> None:
    """List, inspect and act on exception records.

    \b
    Example:
      revbridge exceptions list --status open
    """


@exceptions.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--flow")
@click.option("--owner")
@click.option("--error-class")
@click.option("--business-key")
@click.option("--overdue", is_flag=True, help="open or retrying past their SLA")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_exceptions(ctx: click.Context, as_json: bool, overdue: bool, **filters: str | None) -> None:
    """List records, newest activity first (exit 1 when none match).

    \b
    Example:
      revbridge exceptions list --status open --owner revops
    """
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    if overdue:
        params["overdue"] = "true"

    def action(api: ProcessApi) -> None:
        items = api.pages("/v1/exceptions", {**params, "limit": 500})
        if as_json:
            _emit_json(items)
        elif not items:
            out.print(_nothing_listed(params), highlight=False)
        elif out.is_terminal:
            out.print(_table(items, narrow=out.width < WIDE))
            if out.width < WIDE:
                out.print(LEGEND, style="dim", highlight=False)
        else:  # piped: one tab-separated line per record, whole values, for grep and awk
            for r in items:
                click.echo("\t".join(str(r[k]) for k in COLUMNS))
        if not items:
            raise CliFailure(Exit.nothing, "", quiet=True)

    _run(ctx, action)


def _nothing_listed(params: dict[str, Any]) -> str:
    """An empty answer said as what it means, not as an error."""
    status = params.pop("status", None)
    overdue = params.pop("overdue", None)
    what = " ".join(w for w in (overdue and "overdue", status, "exceptions") if w)
    if params:
        where = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in params.items())
        return f"no {what} with {where}"
    return f"no {what}" if status or overdue else "no exceptions: the queue is empty"


def _table(items: list[dict[str, Any]], narrow: bool) -> Table:
    """Every column in one line at 120 columns and more. Narrower, each record takes two lines (the
    id over its error class, the owner over the status), the id (``flow:business key``) stands for
    the flow and key and the time is shortened, so the longest class and owner fit 80 columns."""
    if narrow:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("id / class", overflow="fold")
        table.add_column("owner / status", no_wrap=True)
        table.add_column("tries", no_wrap=True, justify="right")
        table.add_column("SLA due", no_wrap=True)
    else:
        table = Table(
            "id", "flow", "business key", "class", "owner", "status", "tries", "SLA due", "last seen"
        )
    now = dt.datetime.now(dt.UTC)
    for r in items:
        due = dt.datetime.fromisoformat(r["sla_due"])
        late = r["status"] != "resolved" and due < now
        shown_due = r["sla_due"][5:16].replace("T", " ") if narrow else r["sla_due"][:16]
        sla = f"[red]{shown_due}[/red]" if late else shown_due
        if narrow:
            who = f"{r['owner']}\n{r['status']}"
            table.add_row(f"{r['id']}\n  {r['error_class']}", who, str(r["attempts"]), sla, end_section=True)
            continue
        table.add_row(
            r["id"],
            r["flow"],
            r["business_key"],
            r["error_class"],
            r["owner"],
            r["status"],
            str(r["attempts"]),
            sla,
            r["last_seen"][:19],
        )
    return table


def _show(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _emit_json(record)
        return
    for key in ("id", "flow", "business_key", "error_class", "owner", "status", "attempts", "reason"):
        out.print(f"[bold]{key}[/bold]: {record.get(key)}", highlight=False)
    out.print(
        f"[bold]sla_due[/bold]: {record['sla_due']}  first/last seen: {record['first_seen']} / "
        f"{record['last_seen']}",
        highlight=False,
    )
    for entry in record.get("history", []):
        note = f" — {entry['note']}" if entry.get("note") else ""
        out.print(f"  {entry['at'][:19]} {entry['action']} by {entry.get('by', '?')}{note}", highlight=False)


def _path(record_id: str, action: str = "") -> str:
    return f"/v1/exceptions/{record_id}" + (f"/{action}" if action else "")


@exceptions.command("show")
@click.argument("record_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, record_id: str, as_json: bool) -> None:
    """One record with its history.

    \b
    Example:
      revbridge exceptions show onboarding:800000000000021
    """
    _run(ctx, lambda api: _show(api.call("GET", _path(record_id)), as_json))


@exceptions.command("retry")
@click.argument("record_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def retry(ctx: click.Context, record_id: str, as_json: bool) -> None:
    """Re-publish the record's business event; the worker's success resolves it.

    \b
    Example:
      revbridge exceptions retry onboarding:800000000000021
    """
    _run(ctx, lambda api: _show(api.call("POST", _path(record_id, "retry")), as_json))


@exceptions.command("resolve")
@click.argument("record_id", metavar="ID")
@click.option("--note", required=True, help="what was done (kept in the history)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def resolve(ctx: click.Context, record_id: str, note: str, as_json: bool) -> None:
    """Close a record by hand.

    \b
    Example:
      revbridge exceptions resolve onboarding:800000000000021 --note "mapping added"
    """
    body = {"note": note}
    _run(ctx, lambda api: _show(api.call("POST", _path(record_id, "resolve"), json=body), as_json))


@exceptions.command("reassign")
@click.argument("record_id", metavar="ID")
@click.option("--owner", required=True, help="an owner team of config/exceptions.yaml")
@click.option("--note")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reassign(ctx: click.Context, record_id: str, owner: str, note: str | None, as_json: bool) -> None:
    """Hand a record to another owner team.

    \b
    Example:
      revbridge exceptions reassign onboarding:800000000000021 --owner tax-ops
    """
    body = {"owner": owner, **({"note": note} if note else {})}
    _run(ctx, lambda api: _show(api.call("POST", _path(record_id, "reassign"), json=body), as_json))


_RANGE_OPTIONS = (
    click.option("--since", type=cli_runs.Instant(), help="from (RFC 3339, or 6h / 7d ago)"),
    click.option("--until", type=cli_runs.Instant(), help="to (default: now)"),
    click.option("--source", "sources", multiple=True, type=click.Choice(("billing", "crm"))),
    click.option("--account", "accounts", multiple=True, help="billing account (default: all)"),
    click.option("--max-events", default=500, show_default=True, type=click.IntRange(1, 5000)),
    click.option("--json", "as_json", is_flag=True),
)


def _range_options(fn: Any) -> Any:
    for option in reversed(_RANGE_OPTIONS):
        fn = option(fn)
    return fn


@main.group(invoke_without_command=True)
@_range_options
@click.pass_context
def replay(ctx: click.Context, since: dt.datetime | None, **options: Any) -> None:
    """Put work back on the bus (the flows converge, so a replay never duplicates).

    With --since (and --until), re-publish what Stripe's events API and the CRM recorded in that
    time range, beyond the bus's retention (same as `replay time-range`).

    \b
    Example:
      revbridge replay --since 6h
    """
    if ctx.invoked_subcommand is not None:
        if since is not None or options["until"] is not None:
            raise click.UsageError("--since/--until go with `replay` alone, or `replay time-range`")
        return
    if since is None:
        raise click.UsageError("give --since (and --until) for a time range, or a subcommand")
    cli_runs.replay_time_range(ctx, since, **options)


@replay.command("time-range")
@_range_options
@click.pass_context
def replay_time_range(ctx: click.Context, since: dt.datetime | None, **options: Any) -> None:
    """Re-publish what the platforms recorded between --since and --until (progress bar).

    \b
    Example:
      revbridge replay time-range --since 2026-05-01T00:00:00Z --until 2026-05-02T00:00:00Z
    """
    if since is None:
        raise click.UsageError("--since is required")
    cli_runs.replay_time_range(ctx, since, **options)


@replay.command("dead-letter")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "everything", is_flag=True, help="every dead-lettered entry")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def replay_dead_letter(ctx: click.Context, ids: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Re-publish dead-lettered entries to their original streams (exit 1 when there are none).

    \b
    Example:
      revbridge replay dead-letter --all
    """
    if bool(ids) == everything:
        raise click.UsageError("give dead-letter ids, or --all")

    def action(api: ProcessApi) -> None:
        wanted = list(ids) or [d["id"] for d in api.pages("/v1/dead-letters", {"limit": 500})]
        if not wanted:
            raise CliFailure(Exit.nothing, "no dead letters to replay")
        replayed, missing = _replay_in_chunks(api, wanted, show_progress=not as_json)
        if as_json:
            _emit_json({"replayed": replayed, "missing": missing})
        else:
            out.print(f"replayed {len(replayed)} dead letter(s)", highlight=False)
        if missing:
            err.print(f"not in the dead-letter stream: {', '.join(missing)}", highlight=False)
        if not replayed:
            raise CliFailure(Exit.nothing, "nothing replayed")

    _run(ctx, action)


def _replay_in_chunks(
    api: ProcessApi, ids: list[str], show_progress: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    replayed: list[dict[str, Any]] = []
    missing: list[str] = []
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, disable=not show_progress) as progress:
        task = progress.add_task("replay", total=len(ids))
        for start in range(0, len(ids), REPLAY_CHUNK):
            chunk = ids[start : start + REPLAY_CHUNK]
            result = api.call("POST", "/v1/replays", json={"source": "dead_letter", "ids": chunk})
            replayed += result["replayed"]
            missing += result["missing"]
            progress.advance(task, len(chunk))
    return replayed, missing


@replay.command("key")
@click.argument("flow", type=click.Choice([flow.value for flow in ReplayFlow]))
@click.argument("business_key")
@click.option("--account", help="billing account of an invoice, credit note or charge (billing flows)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def replay_key(ctx: click.Context, flow: str, business_key: str, account: str | None, as_json: bool) -> None:
    """Publish FLOW's business event for BUSINESS_KEY (a contract id for onboarding, an invoice id for
    invoice_posting, invoice_dunning and invoice_voiding, a credit note id, a charge id for refunds).

    \b
    Example:
      revbridge replay key invoice_posting in_1Q2w3e4r --account default
    """
    body = {"source": "business_key", "flow": flow, "business_key": business_key}
    if account:
        body["account"] = account

    def action(api: ProcessApi) -> None:
        result = api.call("POST", "/v1/replays", json=body)
        if as_json:
            _emit_json(result)
            return
        for entry in result["replayed"]:
            out.print(
                f"published {entry['event_id']} as {entry['stream']} {entry['entry_id']}", highlight=False
            )

    _run(ctx, action)


@main.command()
@click.option(
    "--grace-seconds",
    type=click.FloatRange(0),
    help=(
        "leave records newer than this unjudged (in flight); 0 judges every record; "
        "default: the API's PROCESS_RECONCILE_GRACE_SECONDS (300)"
    ),
)
@click.option("--pair", "pairs", multiple=True, type=click.Choice(PAIRS), help="default: every pair")
@click.option("--latest", is_flag=True, help="show the latest report instead of running one")
@click.option("--timeout", default=3600.0, show_default=True, help="seconds to wait for the run")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reconcile(
    ctx: click.Context,
    grace_seconds: float | None,
    pairs: tuple[str, ...],
    latest: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Reconcile CRM, billing and ERP now (progress bar); exit 5 when differences were found.

    \b
    Example:
      revbridge reconcile --grace-seconds 0 --pair invoice
    """
    cli_runs.reconcile(ctx, grace_seconds, pairs, latest, as_json, timeout)


main.add_command(cli_db.db)
main.add_command(cli_db.rebuild)
main.add_command(cli_db.export)

if __name__ == "__main__":
    main()
