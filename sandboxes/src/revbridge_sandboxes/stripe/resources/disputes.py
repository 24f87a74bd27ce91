"""``/v1/disputes``: list, retrieve, update (evidence, submit) and close (see ``dispute_ops.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import dispute_ops, forms
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid
from ..listing import created_filter, equal_filter, paginate
from ..state import Obj, snapshot

router = APIRouter(prefix="/v1/disputes")
OPEN = ("needs_response", "warning_needs_response")
REVIEW = ("under_review", "warning_under_review")
CLOSED = ("won", "lost", "warning_closed")


def _dispute(ctx: Ctx, dispute_id: str) -> Obj:
    return ctx.account.require("dispute", dispute_id, "dispute", "dispute")


@router.get("")
async def list_disputes(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("dispute")
    items = equal_filter(ctx.params, items, ("charge", "payment_intent"))
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/disputes"))


@router.get("/{dispute_id}")
async def retrieve_dispute(dispute_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_dispute(ctx, dispute_id))


@router.post("/{dispute_id}")
async def update_dispute(dispute_id: str, ctx: ApiCtx) -> Response:
    evidence = forms.as_object(ctx.params, "evidence") or {}
    unknown = sorted(set(evidence) - set(dispute_ops.EVIDENCE_FIELDS) - {"enhanced_evidence"})
    if unknown:
        raise invalid(
            f"evidence[{unknown[0]}]",
            f"Received unknown parameter: evidence[{unknown[0]}]",
            code="parameter_unknown",
        )
    submit = forms.as_bool(ctx.params, "submit", True)
    async with ctx.account.lock:
        dispute = _dispute(ctx, dispute_id)
        if dispute["status"] not in OPEN and (evidence or submit):
            raise bad_state(
                f"This dispute is {dispute['status']}: evidence can only be given while it needs a response."
            )
        before = snapshot(dispute)
        for name, value in evidence.items():
            dispute["evidence"][name] = value or None
        dispute["metadata"] = forms.merge_metadata(dispute["metadata"], ctx.params.get("metadata"))
        details = dispute["evidence_details"]
        details["has_evidence"] = details["has_evidence"] or bool(evidence)
        if submit and dispute["status"] in OPEN:
            details["submission_count"] = int(details["submission_count"]) + 1
            details["submission_method"] = "manual"
            dispute["status"] = "warning_under_review" if dispute_ops.is_inquiry(dispute) else "under_review"
        ctx.emit_update("charge.dispute.updated", before, dispute)
        outcome = dispute["evidence"]["uncategorized_text"]
        if dispute["status"] == "warning_under_review" and outcome == "losing_evidence":
            dispute_ops.escalate(ctx, dispute)
        elif dispute["status"] in REVIEW and outcome in ("winning_evidence", "losing_evidence"):
            dispute_ops.close(ctx, dispute, won=outcome == "winning_evidence")
    return ctx.render(dispute)


@router.post("/{dispute_id}/close")
async def close_dispute(dispute_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        dispute = _dispute(ctx, dispute_id)
        if dispute["status"] in CLOSED:
            raise bad_state(f"This dispute is already closed ({dispute['status']}).")
        dispute_ops.close(ctx, dispute, won=False)
    return ctx.render(dispute)
