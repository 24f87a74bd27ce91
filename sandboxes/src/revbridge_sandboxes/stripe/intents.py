"""What payment and setup intents share: taking a payment method, and waiting for 3-D Secure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import billing, cards, forms
from .errors import bad_state
from .state import Obj

if TYPE_CHECKING:
    from .deps import Ctx


def set_payment_method(ctx: Ctx, intent: Obj) -> None:
    """``payment_method`` from the request: checked, set, and the intent ready to confirm."""
    pm = forms.as_str(ctx.params, "payment_method")
    if pm:
        billing.check_payment_method(ctx, pm, "payment_method")
        intent["payment_method"] = cards.materialize(ctx.account, pm)
        if intent["status"] == "requires_payment_method":
            intent["status"] = "requires_confirmation"


def require_action(ctx: Ctx, intent: Obj) -> None:
    """Stop at requires_action with the 3-D Secure ``next_action`` (redirect with ``return_url``)."""
    action = cards.three_d_secure_action(forms.as_str(ctx.params, "return_url"))
    intent.update(status="requires_action", next_action=action)
    ctx.emit(f"{intent['object']}.requires_action", intent)


def check_confirmable(intent: Obj) -> None:
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        label = "PaymentIntent" if intent["object"] == "payment_intent" else "SetupIntent"
        raise bad_state(
            f"This {label}'s status is {intent['status']}, but it must be requires_payment_method "
            "or requires_confirmation to be confirmed."
        )
