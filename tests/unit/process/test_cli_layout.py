"""The operator CLI's screens at 80 columns: nothing cut to an ellipsis, every line within the
width, the in-flight records explained, and an empty list said as what it is."""

from __future__ import annotations

import io

from revbridge_process.cli import LEGEND, _nothing_listed, _table
from revbridge_process.cli_runs import print_report
from rich.console import Console

PAIRS = ("contract_subscription", "invoice", "payment", "credit_note", "refund")


def _console() -> Console:
    return Console(width=80, file=io.StringIO(), color_system=None, force_terminal=True)


def _counts(**extra: int) -> dict[str, int]:
    return {"source_records": 12_345, "target_records": 12_340, "matched": 12_000, **extra}


def _report(in_grace: int) -> dict[str, object]:
    by_pair = {pair: _counts(in_grace=in_grace, duplicated=1, known_exception=2) for pair in PAIRS}
    total = {k: sum(c[k] for c in by_pair.values()) for k in by_pair["invoice"]}
    return {
        "id": "rc_20261206T231500_3f9a",
        "trigger": "on_demand",
        "status": "completed",
        "started_at": "2026-12-06T23:15:00+00:00",
        "grace_seconds": 300.0,
        "counts": total,
        "by_pair": by_pair,
        "differences": [],
        "differences_total": 5,
    }


def _screen(console: Console) -> list[str]:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue().splitlines()


def test_the_reconcile_report_fits_80_columns_and_says_why_records_were_held_back() -> None:
    console = _console()
    print_report(_report(in_grace=7), console)
    lines = _screen(console)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "…" not in text
    header = next(line for line in lines if line.strip().startswith("pair"))
    for column in ("pair", "records", "matched", "differ", "known", "in flight"):
        assert column in header, text
    assert "contract_subscription" in text and "61725" in text  # whole names and figures
    assert "35 record(s) held back as in flight" in text and "--grace-seconds 0" in text
    assert "differences: 5 duplicated" in text


def test_a_report_with_nothing_in_flight_does_not_offer_a_zero_grace() -> None:
    console = _console()
    print_report(_report(in_grace=0), console)
    assert "--grace-seconds" not in "\n".join(_screen(console))


def test_the_exception_table_fits_80_columns_narrow_and_keeps_every_column_wide() -> None:
    rows = [
        {
            "id": f"onboarding:80000000000002{i}",
            "flow": "onboarding",
            "business_key": f"80000000000002{i}",
            "error_class": "mapping_missing",
            "owner": "revops",
            "status": "open",
            "attempts": 3,
            "sla_due": "2026-12-07T09:00:00+00:00",
            "last_seen": "2026-12-06T23:14:59+00:00",
        }
        for i in range(3)
    ]
    console = _console()
    console.print(_table(rows, narrow=True))
    console.print(LEGEND)
    lines = _screen(console)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "…" not in text and "onboarding:800000000000021" in text and "12-07 09:00" in text
    assert "mapping_missing" in text and "revops" in text and "SLA due" in text
    wide = Console(width=140, file=io.StringIO(), color_system=None, force_terminal=True)
    wide.print(_table(rows, narrow=False))
    assert "business key" in _screen(wide)[1] + _screen(wide)[2]


def test_an_empty_list_is_said_plainly() -> None:
    assert _nothing_listed({}) == "no exceptions: the queue is empty"
    assert _nothing_listed({"status": "open"}) == "no open exceptions"
    assert _nothing_listed({"overdue": "true"}) == "no overdue exceptions"
    assert _nothing_listed({"status": "open", "owner": "tax-ops"}) == "no open exceptions with owner tax-ops"
