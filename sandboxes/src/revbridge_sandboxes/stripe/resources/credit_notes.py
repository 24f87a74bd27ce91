"""``/v1/credit_notes``: credit an open invoice (pre-payment: less to pay) or a paid one (post-payment:
refunded, credited to the customer's balance, or settled out of band); void reverses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from .. import billing, customer_balance, forms
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing
from ..listing import created_filter, paginate
from ..state import Obj, new_id, now, snapshot
from .payments import refund_charge

router = APIRouter(prefix="/v1/credit_notes")

REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")


def _line(ctx: Ctx, inv: Obj, spec: Any, index: int) -> Obj:
    param = f"lines[{index}]"
    if not isinstance(spec, dict):
        raise invalid(param, "Invalid object")
    kind = spec.get("type")
    quantity = forms.as_int(spec, "quantity", 1) or 1
    line: Obj = {
        "id": new_id("cnli"),
        "object": "credit_note_line_item",
        "discount_amount": 0,
        "discount_amounts": [],
        "livemode": False,
        "metadata": forms.merge_metadata({}, spec.get("metadata"), f"{param}[metadata]"),
        "pretax_credit_amounts": [],
        "quantity": quantity,
        "tax_rates": [],
        "taxes": [],
        "type": kind,
        "unit_amount": None,
        "unit_amount_decimal": None,
    }
    if kind == "invoice_line_item":
        line_id = forms.as_str(spec, "invoice_line_item", required=True)
        source = next((li for li in inv["lines"]["data"] if li["id"] == line_id), None)
        if source is None:
            raise invalid(f"{param}[invoice_line_item]", f"No such invoice line item: '{line_id}'")
        amount = forms.as_int(spec, "amount")
        if amount is None:
            unit = int(source["amount"]) // max(int(source["quantity"] or 1), 1)
            amount = unit * quantity
        line.update(amount=amount, description=source["description"], invoice_line_item=line_id)
    elif kind == "custom_line_item":
        unit = forms.as_int(spec, "unit_amount", required=True) or 0
        line.update(
            amount=unit * quantity,
            description=forms.as_str(spec, "description", required=True),
            unit_amount=unit,
            unit_amount_decimal=str(unit),
        )
    else:
        raise invalid(f"{param}[type]", "Invalid type: must be one of invoice_line_item, custom_line_item")
    return line


def _credit_note(ctx: Ctx, inv: Obj, lines: list[Obj], total: int) -> Obj:
    object_id = new_id("cn")
    count = sum(1 for c in ctx.account.newest_first("credit_note") if c["invoice"] == inv["id"])
    ts = now()
    return {
        "id": object_id,
        "object": "credit_note",
        "amount": total,
        "amount_shipping": 0,
        "created": ts,
        "currency": inv["currency"],
        "customer": inv["customer"],
        "customer_account": None,
        "customer_balance_transaction": None,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": ts,
        "invoice": inv["id"],
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/credit_notes/{object_id}/lines",
        },
        "livemode": False,
        "memo": forms.as_str(ctx.params, "memo"),
        "metadata": forms.merge_metadata({}, ctx.params.get("metadata")),
        "number": f"{inv['number']}-CN-{count + 1:02d}",
        "out_of_band_amount": None,
        "pdf": f"https://pay.stripe.com/credit_notes/{object_id}/pdf",
        "post_payment_amount": 0,
        "pre_payment_amount": 0,
        "pretax_credit_amounts": [],
        "reason": forms.as_str(ctx.params, "reason"),
        "refunds": [],
        "shipping_cost": None,
        "status": "issued",
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "total": total,
        "total_excluding_tax": total,
        "total_taxes": [],
        "type": "pre_payment",
        "voided_at": None,
    }


def _post_payment(ctx: Ctx, inv: Obj, note: Obj, total: int) -> None:
    """Settle a paid invoice's credit: ``refund_amount`` refunds, ``out_of_band_amount`` is recorded,
    the rest (``credit_amount`` or the default) goes to the customer's balance."""
    refund_amount = forms.as_int(ctx.params, "refund_amount", 0) or 0
    out_of_band = forms.as_int(ctx.params, "out_of_band_amount", 0) or 0
    credit = forms.as_int(ctx.params, "credit_amount", total - refund_amount - out_of_band) or 0
    if refund_amount + out_of_band + credit != total:
        raise invalid(
            "amount",
            "The sum of refund_amount, credit_amount and out_of_band_amount must equal the credit "
            "note amount.",
        )
    if refund_amount:
        payment = next((p for p in inv["payments"]["data"] if p["status"] == "paid"), None)
        intent = ctx.account.get(
            "payment_intent", (payment or {}).get("payment", {}).get("payment_intent") or ""
        )
        charge = ctx.account.get("charge", (intent or {}).get("latest_charge") or "")
        if charge is None:
            raise bad_state(
                "This invoice was not paid with a charge; use credit_amount or out_of_band_amount."
            )
        refund = refund_charge(ctx, charge, refund_amount, None, None)
        note["refunds"] = [{"amount_refunded": refund_amount, "refund": refund["id"], "type": "refund"}]
    if credit:
        customer = ctx.account.require("customer", inv["customer"], "customer", "customer")
        txn = customer_balance.record(
            ctx, customer, -credit, inv["currency"], "credit_note", credit_note=note["id"]
        )
        note["customer_balance_transaction"] = txn["id"]
    note.update(type="post_payment", post_payment_amount=total, out_of_band_amount=out_of_band or None)
    inv["post_payment_credit_notes_amount"] = int(inv["post_payment_credit_notes_amount"]) + total


@router.post("")
async def create_credit_note(ctx: ApiCtx) -> Response:
    p = ctx.params
    invoice_id = forms.as_str(p, "invoice", required=True)
    reason = forms.as_str(p, "reason")
    if reason is not None and reason not in REASONS:
        raise invalid("reason", f"Invalid reason: must be one of {', '.join(REASONS)}")
    async with ctx.account.lock:
        inv = ctx.account.reference("invoice", invoice_id, "invoice", "invoice")
        if inv["status"] not in ("open", "paid"):
            raise bad_state(
                f"Credit notes can only be issued on open or paid invoices; this invoice is {inv['status']}."
            )
        lines = [_line(ctx, inv, spec, i) for i, spec in enumerate(forms.as_list(p, "lines"))]
        amount = forms.as_int(p, "amount")
        if not lines and amount is None:
            raise missing("lines")
        total = sum(int(li["amount"]) for li in lines) if lines else int(amount or 0)
        if amount is not None and lines and amount != total:
            raise invalid("amount", f"The amount ({amount}) must equal the sum of the lines ({total}).")
        credited = int(inv["pre_payment_credit_notes_amount"]) + int(inv["post_payment_credit_notes_amount"])
        room = int(inv["total"]) - credited
        if total <= 0 or total > room:
            raise invalid(
                "amount", f"The credit note amount ({total}) exceeds what is left to credit ({room})."
            )
        note = _credit_note(ctx, inv, lines, total)
        before = snapshot(inv)
        if inv["status"] == "open":
            note["pre_payment_amount"] = total
            inv["pre_payment_credit_notes_amount"] = int(inv["pre_payment_credit_notes_amount"]) + total
            inv["amount_remaining"] = int(inv["amount_remaining"]) - total
            inv["amount_due"] = int(inv["amount_due"]) - total
        else:
            _post_payment(ctx, inv, note, total)
        ctx.account.put(note)
        ctx.emit("credit_note.created", note)
        ctx.emit_update("invoice.updated", before, inv)
        if inv["status"] == "open" and inv["amount_remaining"] <= 0:
            billing.mark_paid(ctx, inv)
    return ctx.render(note)


@router.get("")
async def list_credit_notes(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("credit_note")
    for name in ("invoice", "customer"):
        value = forms.as_str(ctx.params, name)
        if value:
            items = [c for c in items if c[name] == value]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/credit_notes"))


def _note(ctx: Ctx, note_id: str) -> Obj:
    return ctx.account.require("credit_note", note_id, "credit note", "id")


@router.get("/{note_id}")
async def retrieve_credit_note(note_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_note(ctx, note_id))


@router.get("/{note_id}/lines")
async def list_credit_note_lines(note_id: str, ctx: ApiCtx) -> Response:
    lines = _note(ctx, note_id)["lines"]["data"]
    return ctx.render(paginate(lines, ctx.params, f"/v1/credit_notes/{note_id}/lines"))


@router.post("/{note_id}/void")
async def void_credit_note(note_id: str, ctx: ApiCtx) -> Response:
    """Voiding gives the invoice its amount back; refunds already made are not reversed (as Stripe)."""
    async with ctx.account.lock:
        note = _note(ctx, note_id)
        if note["status"] != "issued":
            raise bad_state("This credit note has already been voided.")
        inv = ctx.account.require("invoice", note["invoice"], "invoice", "invoice")
        if note["type"] == "pre_payment":
            if inv["status"] != "open":
                raise bad_state("A pre-payment credit note can only be voided while its invoice is open.")
            inv["pre_payment_credit_notes_amount"] = (
                int(inv["pre_payment_credit_notes_amount"]) - note["amount"]
            )
            inv["amount_remaining"] = int(inv["amount_remaining"]) + note["amount"]
            inv["amount_due"] = int(inv["amount_due"]) + note["amount"]
        else:
            inv["post_payment_credit_notes_amount"] = (
                int(inv["post_payment_credit_notes_amount"]) - note["amount"]
            )
            if note["customer_balance_transaction"]:
                customer = ctx.account.get("customer", note["customer"])
                refunded = sum(r["amount_refunded"] for r in note["refunds"])
                if customer is not None:  # the reversal: a credit_note transaction the other way (guess)
                    credited = note["amount"] - refunded - int(note["out_of_band_amount"] or 0)
                    customer_balance.record(
                        ctx, customer, credited, note["currency"], "credit_note", credit_note=note["id"]
                    )
        note.update(status="void", voided_at=now())
        ctx.emit("credit_note.voided", note)
    return ctx.render(note)
