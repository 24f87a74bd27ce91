"""Stripe's documented test payment methods and the card objects built from them.

``pm_card_visa`` and its siblings are magic ids: any call may name one, and attaching one to a
customer makes a new ``pm_...`` of that card (https://docs.stripe.com/testing#cards). What a
card does when charged follows the test-card table: most succeed, the ``chargeDeclined*`` ones
decline with their documented ``decline_code``. Brands, last4 and funding are the documented
ones; expiry is the one Stripe's fixtures show for test cards (a guess for the rest). The 3-D
Secure cards stop an on-session payment or setup at ``requires_action``; the sandbox's
``POST /__sandbox/intents/{id}/authenticate`` stands in for the customer finishing the challenge.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state import Account, Obj, new_id, now


@dataclass(frozen=True, slots=True)
class TestCard:
    brand: str
    last4: str
    funding: str = "credit"
    country: str = "US"
    decline: tuple[str, str, str] | None = None  # (code, decline_code, message)
    authentication: str | None = None  # 3-D Secure: "always", or "setup" (until set up for off-session use)
    dispute: str | None = None  # the reason of the dispute a successful charge opens at once
    inquiry: bool = False  # the dispute opens as an inquiry (warning_needs_response)


_DECLINED = ("card_declined", "generic_decline", "Your card was declined.")
AUTHENTICATION_REQUIRED = (
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)
CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242"),
    "pm_card_visa_debit": TestCard("visa", "5556", "debit"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_mastercard_debit": TestCard("mastercard", "8210", "debit"),
    "pm_card_amex": TestCard("amex", "8431"),
    "pm_card_discover": TestCard("discover", "1117"),
    "pm_card_us": TestCard("visa", "4242"),
    "pm_card_gb": TestCard("visa", "0002", country="GB"),
    "pm_card_chargeDeclined": TestCard("visa", "0002", decline=_DECLINED),
    # 3-D Secure (https://docs.stripe.com/testing#regulatory-cards): 3184 and 3220 authenticate every
    # payment; 3155 once when set up, after which off-session payments need none
    "pm_card_authenticationRequired": TestCard("visa", "3184", authentication="always"),
    "pm_card_threeDSecure2Required": TestCard("visa", "3220", authentication="always"),
    "pm_card_authenticationRequiredOnSetup": TestCard("visa", "3155", authentication="setup"),
    "pm_card_createDispute": TestCard("visa", "0259", dispute="fraudulent"),
    "pm_card_createDisputeProductNotReceived": TestCard("visa", "2685", dispute="product_not_received"),
    # guess: the inquiry card's reason (Stripe's table says only that an inquiry opens)
    "pm_card_createDisputeInquiry": TestCard("visa", "1976", dispute="fraudulent", inquiry=True),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(
        "visa", "9995", decline=("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    ),
    "pm_card_chargeDeclinedLostCard": TestCard(
        "visa", "9987", decline=("card_declined", "lost_card", "Your card was declined.")
    ),
    "pm_card_chargeDeclinedStolenCard": TestCard(
        "visa", "9979", decline=("card_declined", "stolen_card", "Your card was declined.")
    ),
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "visa", "0069", decline=("expired_card", "expired_card", "Your card has expired.")
    ),
    "pm_card_chargeDeclinedIncorrectCvc": TestCard(
        "visa", "0127", decline=("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.")
    ),
    "pm_card_chargeDeclinedProcessingError": TestCard(
        "visa",
        "0119",
        decline=("processing_error", "processing_error", "An error occurred while processing your card."),
    ),
}
EXP_MONTH, EXP_YEAR = 8, 2030  # the expiry on Stripe's own test-card fixtures


CHECKS = {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}


def no_billing_details() -> Obj:
    """``billing_details`` as Stripe sends it when none were given (payment methods and charges)."""
    return {
        "address": {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")},
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
    }


def _fingerprint(card: TestCard) -> str:
    return f"fp{card.brand[:4]}{card.last4}{card.funding[:2]}"


def test_card(account: Account, pm: str | None) -> TestCard | None:
    """The test card behind ``pm``: a magic id itself, or the one a ``pm_...`` was made from."""
    if pm is None:
        return None
    return CARDS.get(pm) or CARDS.get(account.card_of.get(pm, ""))


def materialize(account: Account, pm: str) -> str:
    """A magic test id used to pay or set up becomes a PaymentMethod of its own (``pm_...``, not
    attached to anyone), as Stripe makes one; any other id is returned as it is."""
    card = CARDS.get(pm)
    if card is None:
        return pm
    made = account.put(payment_method(card))
    account.card_of[made["id"]] = pm
    return str(made["id"])


def card_details(card: TestCard) -> Obj:
    """``payment_method.card``: the fields Stripe always sends."""
    return {
        "brand": card.brand,
        "checks": dict(CHECKS),
        "country": card.country,
        "display_brand": card.brand,
        "exp_month": EXP_MONTH,
        "exp_year": EXP_YEAR,
        "fingerprint": _fingerprint(card),
        "funding": card.funding,
        "generated_from": None,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def charge_card_details(card: TestCard, amount: int) -> Obj:
    """``charge.payment_method_details.card``, as on Stripe's charge fixture."""
    return {
        "amount_authorized": amount,
        "authorization_code": None,
        "brand": card.brand,
        "checks": dict(CHECKS),
        "country": card.country,
        "exp_month": EXP_MONTH,
        "exp_year": EXP_YEAR,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": _fingerprint(card),
        "funding": card.funding,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card.last4,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": card.brand,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "wallet": None,
    }


def payment_method(card: TestCard, object_id: str | None = None, customer: str | None = None) -> Obj:
    return {
        "id": object_id or new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": no_billing_details(),
        "card": card_details(card),
        "created": now(),
        "customer": customer,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def three_d_secure_action(return_url: str | None) -> Obj:
    """``next_action`` of an intent waiting for 3-D Secure: a redirect with ``return_url``, else
    the challenge Stripe.js runs (the URLs are the sandbox's own stand-ins for hooks.stripe.com)."""
    source = new_id("src")
    if return_url:
        hosted = f"https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_sandbox&source={source}"
        return {"type": "redirect_to_url", "redirect_to_url": {"return_url": return_url, "url": hosted}}
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "source": source,
            "stripe_js": f"https://hooks.stripe.com/redirect/authenticate/{source}",
        },
    }
