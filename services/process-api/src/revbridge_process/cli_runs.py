"""The CLI's long-running commands: replay by time range and reconcile, each with a progress bar.

Both drive the process API a step at a time (a replay page per call, a reconciliation report
polled while it runs), so the bar moves with the work and an interrupted command leaves nothing
half-done that a re-run would not converge. Shared plumbing (``run``, ``emit_json``, the consoles)
lives here and ``cli`` uses it too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from revbridge_process.cli_client import CliFailure, Exit, ProcessApi

out, err = Console(), Console(stderr=True, soft_wrap=True)
RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
POLL_SECONDS = 0.5


def run(ctx: click.Context, action: Callable[[ProcessApi], Any]) -> None:
    """Run ``action`` against the API and turn its ``CliFailure`` into the exit code."""
    settings = ctx.ensure_object(dict)
    api = ProcessApi(settings["api"], settings["token"])
    try:
        action(api)
    except CliFailure as failure:
        if not failure.quiet:
            err.print(f"[red]error:[/red] {failure.message}", highlight=False)
        ctx.exit(int(failure.code))
    finally:
        api.close()


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _progress(label: str, enabled: bool) -> Progress:
    columns = (TextColumn(label), BarColumn(), TaskProgressColumn(), TextColumn("{task.description}"))
    return Progress(*columns, TimeElapsedColumn(), console=err, disable=not enabled)


class Instant(click.ParamType):
    """An RFC 3339 / ISO 8601 time (UTC when it names no zone), or ``30m``, ``6h``, ``7d`` ago."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        relative = RELATIVE.match(text)
        if relative:
            ago = dt.timedelta(**{UNITS[relative[2]]: int(relative[1])})
            return dt.datetime.now(dt.UTC) - ago
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{text!r} is not a time (e.g. 2026-05-01T00:00:00Z, or 6h for six hours ago)", param, ctx
            )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- replay by time range -------------------------------------------------------------------


def replay_time_range(
    ctx: click.Context,
    since: dt.datetime,
    until: dt.datetime | None,
    sources: tuple[str, ...],
    accounts: tuple[str, ...],
    max_events: int,
    as_json: bool,
) -> None:
    """Page through the range until the API says it is done (exit 1 when nothing was published)."""
    if until is not None and until < since:
        raise click.BadParameter("is before --since", param_hint="--until")
    body: dict[str, Any] = {"since": since.isoformat(), "max_events": max_events}
    body["until"] = (until or dt.datetime.now(dt.UTC)).isoformat()
    if sources:
        body["sources"] = list(sources)
    if accounts:
        body["accounts"] = list(accounts)

    def action(api: ProcessApi) -> None:
        total, by_type = 0, dict[str, int]()
        with _progress("replaying", not as_json) as progress:
            task = progress.add_task("", total=1.0)
            while True:
                page = api.call("POST", "/v1/replays/time-range", json=body)
                total += page["published"]
                for kind, n in page["by_type"].items():
                    by_type[kind] = by_type.get(kind, 0) + n
                progress.update(task, completed=page["progress"], description=f"{total} published")
                if not page.get("next_cursor"):
                    break
                body["cursor"] = page["next_cursor"]
        if as_json:
            emit_json({"published": total, "by_type": by_type})
        else:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(by_type.items())) or "nothing"
            out.print(f"re-published {total} event(s): {kinds}", highlight=False)
        if not total:
            raise CliFailure(Exit.nothing, "nothing recorded in that time range")

    run(ctx, action)


# --- reconcile ------------------------------------------------------------------------------


def reconcile(
    ctx: click.Context,
    grace_seconds: float | None,
    pairs: tuple[str, ...],
    latest: bool,
    as_json: bool,
    timeout: float,
) -> None:
    """Run (or show the latest) reconciliation; exit 5 when it found differences."""

    def action(api: ProcessApi) -> None:
        if latest:
            report = api.call("GET", "/v1/reconciliations/latest")
        else:
            body: dict[str, Any] = {}
            if grace_seconds is not None:
                body["grace_seconds"] = grace_seconds
            if pairs:
                body["pairs"] = list(pairs)
            report = _follow(api, api.call("POST", "/v1/reconciliations", json=body), as_json, timeout)
        if as_json:
            emit_json(report)
        else:
            print_report(report)
        if report["status"] != "completed":
            raise CliFailure(
                Exit.api_error, f"reconciliation {report['id']} {report['status']}: {report.get('error')}"
            )
        if report["differences_total"]:
            raise CliFailure(
                Exit.differences,
                f"{report['differences_total']} difference(s), each an exception (flow reconciliation)",
            )

    run(ctx, action)


def _follow(api: ProcessApi, report: dict[str, Any], as_json: bool, timeout: float) -> dict[str, Any]:
    """Poll the report until it finishes, moving the bar with its progress."""
    deadline = time.monotonic() + timeout
    with _progress("reconciling", not as_json) as progress:
        task = progress.add_task(report.get("phase") or "", total=1.0)
        while report["status"] == "running":
            if time.monotonic() > deadline:
                raise CliFailure(
                    Exit.api_error, f"reconciliation {report['id']} still running after {timeout:.0f}s"
                )
            time.sleep(POLL_SECONDS)
            report = api.call("GET", f"/v1/reconciliations/{report['id']}")
            progress.update(task, completed=report["progress"], description=report.get("phase") or "")
        progress.update(task, completed=1.0, description=report["status"])
    return report


DIFFERENCES = (
    "missing_in_target",
    "duplicated",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "unexpected_in_target",
)


def print_report(report: dict[str, Any], console: Console = out) -> None:
    """One row per pair in 80 columns: what was read, what matched, what differs, what an open
    exception already holds, and what was too new to judge; the kinds of difference below it."""
    started = report["started_at"][:19].replace("T", " ")
    console.print(f"reconciliation {report['id']} ({report['trigger']})", highlight=False)
    console.print(f"{report['status']}, started {started} UTC", highlight=False)
    table = Table("pair", "records", "matched", "differ", "known", "in flight", box=box.SIMPLE_HEAD)
    for column in table.columns[1:]:
        column.justify = "right"
    rows = [(pair, counts, False) for pair, counts in report["by_pair"].items()]
    for pair, counts, bold in [*rows, ("all", report["counts"], True)]:
        cells = [
            pair,
            str(counts.get("source_records", 0)),
            str(counts.get("matched", 0)),
            str(sum(counts.get(c, 0) for c in DIFFERENCES)),
            str(counts.get("known_exception", 0)),
            str(counts.get("in_grace", 0)),
        ]
        table.add_row(*(f"[bold]{c}[/bold]" for c in cells) if bold else cells)
    console.print(table)
    console.print(
        "records: read from the source · differ: differences found\n"
        "known: behind, already an open exception · in flight: too new to judge",
        style="dim",
        highlight=False,
    )
    totals = report["counts"]
    kinds = [f"{totals[c]} {c.replace('_', ' ')}" for c in DIFFERENCES if totals.get(c)]
    if kinds:
        console.print(f"differences: {', '.join(kinds)}", highlight=False)
    held = totals.get("in_grace", 0)
    if held:
        console.print(
            f"{held} record(s) held back as in flight: made less than {report['grace_seconds']:g} s "
            "ago, so their flows may still be delivering them (PROCESS_RECONCILE_GRACE_SECONDS). "
            "To judge them now: revbridge reconcile --grace-seconds 0",
            highlight=False,
        )
    for diff in report["differences"][:20]:
        console.print(f"  {diff['category']}: {diff['detail']}", highlight=False)
    more = report["differences_total"] - min(20, len(report["differences"]))
    if more > 0:
        tail = f"  ... and {more} more (revbridge exceptions list --flow reconciliation)"
        console.print(tail, highlight=False)
