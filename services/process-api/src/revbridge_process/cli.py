"""``revbridge``: the operator CLI for the exception queue, replays and reconciliation, over the
process API's HTTP.

Exit codes: 0 ok, 1 not found / nothing to do, 2 usage, 3 API unreachable, 4 API error (or a
failed run), 5 a reconciliation found differences. Tables and progress go to the terminal;
``--json`` prints the API's answer as JSON on stdout for scripts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from revbridge_contracts.process import ReconciliationPair, ReplayFlow
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from revbridge_process import cli_runs
from revbridge_process.cli_client import DEFAULT_API, CliFailure, Exit, ProcessApi
from revbridge_process.cli_runs import emit_json as _emit_json
from revbridge_process.cli_runs import err, out
from revbridge_process.cli_runs import run as _run

REPLAY_CHUNK = 50
STATUSES = ("open", "retrying", "resolved")
COLUMNS = ("id", "flow", "business_key", "error_class", "owner", "status", "attempts", "sla_due", "last_seen")
PAIRS = tuple(pair.value for pair in ReconciliationPair)


@click.group()
@click.option("--api", envvar="REVBRIDGE_PROCESS_API_URL", default=DEFAULT_API, show_default=True)
@click.option("--token", envvar="REVBRIDGE_TOKEN", default=None, help="bearer token (through the gateway)")
@click.pass_context
def main(ctx: click.Context, api: str, token: str | None) -> None:
    """Work the revbridge exception queue and replay events."""
    ctx.ensure_object(dict).update(api=api, token=token)


@main.group()
def exceptions() -> None:
    """List, inspect and act on exception records."""


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
    """List records (exit 1 when none match)."""
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    if overdue:
        params["overdue"] = "true"

    def action(api: ProcessApi) -> None:
        items = api.pages("/v1/exceptions", {**params, "limit": 500})
        if as_json:
            _emit_json(items)
        elif out.is_terminal:
            out.print(_table(items))
        else:  # piped: one tab-separated line per record, whole values, for grep and awk
            for r in items:
                click.echo("\t".join(str(r[k]) for k in COLUMNS))
        if not items:
            raise CliFailure(Exit.nothing, "no exceptions match")

    _run(ctx, action)


def _table(items: list[dict[str, Any]]) -> Table:
    table = Table("id", "flow", "business key", "class", "owner", "status", "tries", "SLA due", "last seen")
    now = dt.datetime.now(dt.UTC)
    for r in items:
        due = dt.datetime.fromisoformat(r["sla_due"])
        late = r["status"] != "resolved" and due < now
        table.add_row(
            r["id"],
            r["flow"],
            r["business_key"],
            r["error_class"],
            r["owner"],
            r["status"],
            str(r["attempts"]),
            f"[red]{r['sla_due'][:16]}[/red]" if late else r["sla_due"][:16],
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
    """One record with its history."""
    _run(ctx, lambda api: _show(api.call("GET", _path(record_id)), as_json))


@exceptions.command("retry")
@click.argument("record_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def retry(ctx: click.Context, record_id: str, as_json: bool) -> None:
    """Re-publish the record's business event; the worker's success resolves it."""
    _run(ctx, lambda api: _show(api.call("POST", _path(record_id, "retry")), as_json))


@exceptions.command("resolve")
@click.argument("record_id", metavar="ID")
@click.option("--note", required=True, help="what was done (kept in the history)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def resolve(ctx: click.Context, record_id: str, note: str, as_json: bool) -> None:
    """Close a record by hand."""
    body = {"note": note}
    _run(ctx, lambda api: _show(api.call("POST", _path(record_id, "resolve"), json=body), as_json))


@exceptions.command("reassign")
@click.argument("record_id", metavar="ID")
@click.option("--owner", required=True, help="an owner team of config/exceptions.yaml")
@click.option("--note")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reassign(ctx: click.Context, record_id: str, owner: str, note: str | None, as_json: bool) -> None:
    """Hand a record to another owner team."""
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
    time range, beyond the bus's retention (same as `replay time-range`)."""
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
    """Re-publish what the platforms recorded between --since and --until (progress bar)."""
    if since is None:
        raise click.UsageError("--since is required")
    cli_runs.replay_time_range(ctx, since, **options)


@replay.command("dead-letter")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "everything", is_flag=True, help="every dead-lettered entry")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def replay_dead_letter(ctx: click.Context, ids: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Re-publish dead-lettered entries to their original streams (exit 1 when there are none)."""
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
    invoice_posting, invoice_dunning and invoice_voiding, a credit note id, a charge id for refunds)."""
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
@click.option("--grace-seconds", type=click.FloatRange(0), help="skip records newer than this (in flight)")
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
    """Reconcile CRM, billing and ERP now (progress bar); exit 5 when differences were found."""
    cli_runs.reconcile(ctx, grace_seconds, pairs, latest, as_json, timeout)


if __name__ == "__main__":
    main()
