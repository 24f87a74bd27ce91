"""What a chaos run prints: the revbridge / naive copier table, the process API's reconciliation,
the held unmapped products, the timeline and the timings."""

from __future__ import annotations

from typing import Any

from scripts.chaos import MUST_BE_ZERO, Result
from scripts.chaos_recon import Report
from scripts.chaos_rig import SURE_REVBRIDGE

ROWS = (
    ("matched", "matched"),
    ("missing_in_target", "missing in NetSuite"),
    ("duplicated", "duplicated"),
    ("amount_mismatch", "amount mismatch"),
    ("currency_mismatch", "currency mismatch"),
    ("status_mismatch", "status mismatch"),
    ("unexpected_in_target", "unexpected in NetSuite"),
)


def table(result: Result) -> str:
    reports: list[tuple[str, Report | None]] = [("revbridge", result.report), ("naive copier", result.naive)]
    shown = [(n, r) for n, r in reports if r is not None]
    head = f"{'':34}" + "".join(f"{n:>15}" for n, _ in shown)
    lines = [head, "-" * len(head)]

    def row(label: str, values: list[Any]) -> None:
        lines.append(f"{label:34}" + "".join(f"{v:>15}" for v in values))

    row("Stripe invoices (finalized)", [r.source_invoices for _, r in shown])
    row("NetSuite invoices", [r.target_invoices for _, r in shown])
    for key, label in ROWS:
        row(f"  {label}", [getattr(r.invoices, key) for _, r in shown])
    row("Stripe payments (succeeded)", [r.source_payments for _, r in shown])
    row("NetSuite customer payments", [r.target_payments for _, r in shown])
    for key, label in ROWS:
        if key not in ("currency_mismatch", "status_mismatch"):
            row(f"  {label}", [getattr(r.payments, key) for _, r in shown])
    return "\n".join(lines)


def summary(result: Result) -> str:
    out = ["", "chaos run: Stripe → NetSuite, reconciled from the platforms", "", table(result), ""]
    if result.report is not None:
        for what, mine in (("invoices", result.report.invoices), ("payments", result.report.payments)):
            for kind, examples in mine.examples.items():
                out.append(f"revbridge {what} {kind}: e.g. {', '.join(examples)}")
    if result.process_recon is None:
        out.append(
            "process API reconciliation: not available yet (no POST /v1/reconciliations in process-v1.yaml)"
        )
    else:
        out.append("process API reconciliation (POST /v1/reconciliations, grace 0):")
        shown = (*MUST_BE_ZERO, "matched", "unexpected_in_target", "known_exception", "in_grace")
        for pair, counts in result.process_recon:
            out.append(f"  {pair:22}" + "  ".join(f"{k} {counts.get(k, 0)}" for k in shown))
    if result.held is not None:
        held = result.held
        out.append(
            f"unmapped products held as mapping_missing (owner {held.expected_owner}): {len(held.held)}"
        )
        out += [f"  contract {c}  owner {o}  {reason}" for c, o, reason in result.held.held]
        out += [f"  NOT HELD: {m}" for m in result.held.missing]
    if result.open_exceptions:
        out.append(
            "open exceptions at the end: "
            + ", ".join(f"{k} {v}" for k, v in sorted(result.open_exceptions.items()))
        )
    if result.ledger is not None:
        out.append(
            "revbridge's ledger (PostgreSQL) against the platforms: "
            + ", ".join(
                f"{kind} {n - result.ledger.missing[kind]}/{n}" for kind, n in result.ledger.expected.items()
            )
            + ("" if result.ledger.clean else f"; MISSING e.g. {result.ledger.examples}")
        )
    out.append(f"webhook deliveries to revbridge Stripe gave up on: {result.failed_webhooks}")
    sure = sum(int(rule["count"]) for rule in SURE_REVBRIDGE)
    fired = sure - result.sure_faults_left
    out.append(f"certain lost answers on revbridge's NetSuite money writes: {fired} of {sure} happened")
    if result.exited:
        out.append(f"NOT RUNNING at the end: {', '.join(result.exited)}")
    out.append("timeline:")
    out += [f"  {e}" for e in result.events]
    out.append("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    if result.peaks_kb:
        out.append(
            "peak RSS: " + ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in sorted(result.peaks_kb.items()))
        )
    out.append("")
    out.append(
        "RESULT: "
        + (
            "PASS — 0 missing, 0 duplicated, 0 mismatches; no fact missing from the ledger; "
            "unmapped products held"
            if result.ok
            else "FAIL"
        )
    )
    return "\n".join(out)
