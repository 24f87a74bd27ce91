"""The parameters each write endpoint accepts, so unknown ones answer Stripe's 400.

Stripe rejects a request naming a parameter the endpoint does not have ("Received unknown
parameter: ..."), at any depth (``items[0][prise]``); a client typo must fail here as it would
in production, not be ignored. Top-level lists come from stripe-python 16.1.0's ``stripe/params``;
the keys of nested hashes from the same TypedDicts, built into ``data/params.json`` with
``python -m revbridge_sandboxes.stripe.params``. Endpoints not listed are not checked.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from .errors import unknown_parameter, unsupported_parameter

NESTED = Path(__file__).with_name("data") / "params.json"


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CUSTOMER = _names(
    "address balance business_name cash_balance description email individual_name invoice_prefix "
    "invoice_settings metadata name next_invoice_sequence payment_method phone preferred_locales "
    "shipping source tax tax_exempt"
)
_PRODUCT = _names(
    "active default_price description images marketing_features metadata name package_dimensions "
    "shippable statement_descriptor tax_code unit_label url"
)
_PRICE = _names("active currency_options lookup_key metadata nickname tax_behavior transfer_lookup_key")
_SUBSCRIPTION = _names(
    "add_invoice_items application_fee_percent automatic_tax billing_cycle_anchor billing_thresholds "
    "cancel_at cancel_at_period_end collection_method days_until_due default_payment_method "
    "default_source default_tax_rates description discounts invoice_settings items metadata off_session "
    "on_behalf_of payment_behavior payment_settings pending_invoice_item_interval proration_behavior "
    "transfer_data trial_end trial_from_plan trial_settings"
)
_INVOICE = _names(
    "account_tax_ids application_fee_amount auto_advance automatic_tax automatically_finalizes_at "
    "collection_method custom_fields days_until_due default_payment_method default_source "
    "default_tax_rates description discounts due_date effective_at footer issuer metadata number "
    "on_behalf_of payment_settings rendering shipping_cost shipping_details statement_descriptor "
    "transfer_data"
)
_INVOICE_ITEM = _names(
    "amount description discountable discounts metadata period price_data pricing quantity tax_behavior "
    "tax_code tax_rates unit_amount_decimal"
)

ACCEPTED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/v1/customers"): _CUSTOMER | _names("tax_id_data test_clock validate"),
    ("POST", "/v1/customers/{customer_id}"): _CUSTOMER | _names("default_source validate"),
    ("POST", "/v1/products"): _PRODUCT | _names("id default_price_data type"),
    ("POST", "/v1/products/{product_id}"): _PRODUCT,
    ("POST", "/v1/prices"): _PRICE
    | _names(
        "billing_scheme currency custom_unit_amount product product_data recurring tiers tiers_mode "
        "transform_quantity unit_amount unit_amount_decimal"
    ),
    ("POST", "/v1/prices/{price_id}"): _PRICE,
    ("POST", "/v1/subscriptions"): _SUBSCRIPTION
    | _names(
        "backdate_start_date billing_cycle_anchor_config billing_mode currency customer trial_period_days"
    ),
    ("POST", "/v1/subscriptions/{sub_id}"): _SUBSCRIPTION
    | _names("cancellation_details pause_collection proration_date"),
    ("POST", "/v1/invoices"): _INVOICE
    | _names("currency customer from_invoice pending_invoice_items_behavior subscription"),
    ("POST", "/v1/invoices/{invoice_id}"): _INVOICE,
    ("POST", "/v1/invoices/create_preview"): _names(
        "automatic_tax currency customer customer_account customer_details discounts invoice_items issuer "
        "on_behalf_of preview_mode schedule schedule_details subscription subscription_details"
    ),
    ("POST", "/v1/invoiceitems"): _INVOICE_ITEM | _names("currency customer invoice subscription"),
    ("POST", "/v1/invoiceitems/{item_id}"): _INVOICE_ITEM,
    ("POST", "/v1/refunds"): _names(
        "amount charge currency customer instructions_email metadata origin payment_intent reason "
        "refund_application_fee reverse_transfer"
    ),
    ("POST", "/v1/credit_notes"): _names(
        "amount credit_amount effective_at email_type invoice lines memo metadata out_of_band_amount "
        "reason refund_amount refunds shipping_cost"
    ),
    ("POST", "/v1/test_helpers/test_clocks"): _names("frozen_time name"),
    ("POST", "/v1/test_helpers/test_clocks/{clock_id}/advance"): _names("frozen_time"),
    ("POST", "/v1/billing/meter_events"): _names("event_name identifier payload timestamp"),
    ("POST", "/v1/payment_methods"): _names(
        "acss_debit affirm billing_details card customer metadata payment_method radar_options type"
    ),
    ("POST", "/v1/payment_methods/{pm_id}"): _names("allow_redisplay billing_details card metadata"),
    ("POST", "/v1/payment_methods/{pm_id}/attach"): _names("customer"),
    ("POST", "/v1/payment_methods/{pm_id}/detach"): frozenset(),
    ("POST", "/v1/payment_intents"): _names(
        "amount application_fee_amount automatic_payment_methods capture_method confirm "
        "confirmation_method confirmation_token currency customer description error_on_requires_action "
        "mandate mandate_data metadata off_session on_behalf_of payment_method payment_method_configuration "
        "payment_method_data payment_method_options payment_method_types radar_options receipt_email "
        "return_url setup_future_usage shipping statement_descriptor statement_descriptor_suffix "
        "transfer_data transfer_group use_stripe_sdk"
    ),
    ("POST", "/v1/payment_intents/{intent_id}/confirm"): _names(
        "capture_method error_on_requires_action mandate mandate_data off_session payment_method "
        "payment_method_data payment_method_options payment_method_types radar_options receipt_email "
        "return_url setup_future_usage shipping use_stripe_sdk"
    ),
    ("POST", "/v1/payment_intents/{intent_id}/capture"): _names(
        "amount_to_capture application_fee_amount final_capture metadata statement_descriptor "
        "statement_descriptor_suffix transfer_data"
    ),
    ("POST", "/v1/payment_intents/{intent_id}/cancel"): _names("cancellation_reason"),
    ("POST", "/v1/setup_intents"): _names(
        "attach_to_self automatic_payment_methods confirm confirmation_token customer customer_account "
        "description excluded_payment_method_types flow_directions mandate_data metadata on_behalf_of "
        "payment_method payment_method_configuration payment_method_data payment_method_options "
        "payment_method_types return_url single_use usage use_stripe_sdk"
    ),
    ("POST", "/v1/setup_intents/{intent_id}/confirm"): _names(
        "confirmation_token mandate_data payment_method payment_method_data payment_method_options "
        "return_url use_stripe_sdk"
    ),
    ("POST", "/v1/setup_intents/{intent_id}/cancel"): _names("cancellation_reason"),
    ("POST", "/v1/disputes/{dispute_id}"): _names("evidence metadata submit"),
    ("POST", "/v1/disputes/{dispute_id}/close"): frozenset(),
    ("POST", "/v1/payouts"): _names(
        "amount currency description destination metadata method payout_method source_type "
        "statement_descriptor"
    ),
    ("POST", "/v1/payouts/{payout_id}/cancel"): frozenset(),
    ("POST", "/v1/coupons"): _names(
        "amount_off applies_to currency currency_options duration duration_in_months id max_redemptions "
        "metadata name percent_off redeem_by"
    ),
    ("POST", "/v1/coupons/{coupon_id}"): _names("currency_options metadata name"),
    ("POST", "/v1/promotion_codes"): _names(
        "active code customer customer_account expires_at max_redemptions metadata promotion restrictions"
    ),
    ("POST", "/v1/promotion_codes/{promo_id}"): _names("active metadata restrictions"),
    ("POST", "/v1/tax_rates"): _names(
        "active country description display_name inclusive jurisdiction metadata percentage state tax_type"
    ),
    ("POST", "/v1/tax_rates/{rate_id}"): _names(
        "active country description display_name jurisdiction metadata state tax_type"
    ),
    ("POST", "/v1/customers/{customer_id}/balance_transactions"): _names(
        "amount currency description metadata"
    ),
    ("POST", "/v1/customers/{customer_id}/balance_transactions/{txn_id}"): _names("description metadata"),
    ("POST", "/v1/webhook_endpoints"): _names("api_version connect description enabled_events metadata url"),
}
ALWAYS = _names("expand")

# Real parameters whose effect on amounts the sandbox does not model: refused by name (400
# ``parameter_unsupported``) rather than accepted and ignored, which would bill the wrong amount.
NOT_MODELLED = _names("discounts default_tax_rates tax_rates coupon promotion_code")
NOT_MODELLED_AT: dict[tuple[str, str], frozenset[str]] = {
    # a subscription's discounts and default tax rates are applied to its invoices (discount_ops.py,
    # tax_ops.py)
    ("POST", "/v1/subscriptions"): NOT_MODELLED - {"discounts", "default_tax_rates"},
    ("POST", "/v1/subscriptions/{sub_id}"): NOT_MODELLED - {"discounts", "default_tax_rates"},
    ("POST", "/v1/invoices/create_preview"): _names("discounts schedule schedule_details invoice_items"),
}


def check(method: str, route: str | None, params: dict[str, Any]) -> None:
    """Raise Stripe's 400 for the first parameter ``route`` does not accept, and the sandbox's own
    400 for one it accepts but does not model."""
    accepted = ACCEPTED.get((method, route or ""))
    if accepted is None:
        return
    unmodelled = NOT_MODELLED_AT.get((method, route or ""), NOT_MODELLED)
    nested = nested_table().get(f"{method} {route}", {})
    for name, value in params.items():
        if name not in accepted and name not in ALWAYS:
            raise unknown_parameter(name)
        if name in unmodelled and value not in ("", [], {}):
            raise unsupported_parameter(name)
        node = nested.get(name)
        if node is not None:
            _check_nested(node, value, name)


@cache
def nested_table() -> dict[str, dict[str, Any]]:
    """``{"METHOD route": {param: node}}``; a node is ``{"fields": {key: node | None}}`` for a hash
    and ``{"items": node}`` for an array of hashes; ``None`` is a value with free keys or none."""
    loaded: dict[str, dict[str, Any]] = json.loads(NESTED.read_text(encoding="utf-8"))
    return loaded


def _check_nested(node: dict[str, Any], value: Any, param: str) -> None:
    if "fields" in node and isinstance(value, dict):
        fields = node["fields"]
        for key, inner in value.items():
            if key not in fields:
                raise unknown_parameter(f"{param}[{key}]")
            if fields[key] is not None:
                _check_nested(fields[key], inner, f"{param}[{key}]")
    elif "items" in node and isinstance(value, list):
        for i, item in enumerate(value):
            _check_nested(node["items"], item, f"{param}[{i}]")


# --- building the nested table (at development time, from stripe-python's params) ------------

SDK_PARAMS: dict[tuple[str, str], str] = {
    # the sandbox's route -> stripe-python 16.1's params module and TypedDict for it
    ("POST", "/v1/customers"): "_customer_create_params:CustomerCreateParams",
    ("POST", "/v1/customers/{customer_id}"): "_customer_update_params:CustomerUpdateParams",
    ("POST", "/v1/products"): "_product_create_params:ProductCreateParams",
    ("POST", "/v1/products/{product_id}"): "_product_update_params:ProductUpdateParams",
    ("POST", "/v1/prices"): "_price_create_params:PriceCreateParams",
    ("POST", "/v1/prices/{price_id}"): "_price_update_params:PriceUpdateParams",
    ("POST", "/v1/subscriptions"): "_subscription_create_params:SubscriptionCreateParams",
    ("POST", "/v1/subscriptions/{sub_id}"): "_subscription_update_params:SubscriptionUpdateParams",
    ("POST", "/v1/invoices"): "_invoice_create_params:InvoiceCreateParams",
    ("POST", "/v1/invoices/{invoice_id}"): "_invoice_update_params:InvoiceUpdateParams",
    ("POST", "/v1/invoices/create_preview"): "_invoice_create_preview_params:InvoiceCreatePreviewParams",
    ("POST", "/v1/invoiceitems"): "_invoice_item_create_params:InvoiceItemCreateParams",
    ("POST", "/v1/invoiceitems/{item_id}"): "_invoice_item_update_params:InvoiceItemUpdateParams",
    ("POST", "/v1/refunds"): "_refund_create_params:RefundCreateParams",
    ("POST", "/v1/credit_notes"): "_credit_note_create_params:CreditNoteCreateParams",
    ("POST", "/v1/payment_methods"): "_payment_method_create_params:PaymentMethodCreateParams",
    ("POST", "/v1/payment_methods/{pm_id}"): "_payment_method_update_params:PaymentMethodUpdateParams",
    ("POST", "/v1/payment_intents"): "_payment_intent_create_params:PaymentIntentCreateParams",
    (
        "POST",
        "/v1/payment_intents/{intent_id}/confirm",
    ): "_payment_intent_confirm_params:PaymentIntentConfirmParams",
    (
        "POST",
        "/v1/payment_intents/{intent_id}/capture",
    ): "_payment_intent_capture_params:PaymentIntentCaptureParams",
    ("POST", "/v1/setup_intents"): "_setup_intent_create_params:SetupIntentCreateParams",
    (
        "POST",
        "/v1/setup_intents/{intent_id}/confirm",
    ): "_setup_intent_confirm_params:SetupIntentConfirmParams",
    ("POST", "/v1/disputes/{dispute_id}"): "_dispute_update_params:DisputeUpdateParams",
    ("POST", "/v1/payouts"): "_payout_create_params:PayoutCreateParams",
    ("POST", "/v1/coupons"): "_coupon_create_params:CouponCreateParams",
    ("POST", "/v1/coupons/{coupon_id}"): "_coupon_update_params:CouponUpdateParams",
    ("POST", "/v1/promotion_codes"): "_promotion_code_create_params:PromotionCodeCreateParams",
    ("POST", "/v1/promotion_codes/{promo_id}"): "_promotion_code_update_params:PromotionCodeUpdateParams",
    ("POST", "/v1/tax_rates"): "_tax_rate_create_params:TaxRateCreateParams",
    ("POST", "/v1/tax_rates/{rate_id}"): "_tax_rate_update_params:TaxRateUpdateParams",
    ("POST", "/v1/webhook_endpoints"): "_webhook_endpoint_create_params:WebhookEndpointCreateParams",
}


def _node(hint: Any, namespace: dict[str, Any], depth: int = 0) -> dict[str, Any] | None:
    """What a TypedDict annotation nests: hashes (TypedDicts) and arrays of them; else ``None``."""
    import typing

    import typing_extensions as te

    if depth > 12:
        return None
    if isinstance(hint, typing.ForwardRef):
        hint = hint.__forward_arg__
    if isinstance(hint, str):
        try:
            hint = eval(hint, namespace)  # the SDK's own annotations, read at build time
        except NameError:
            return None
    origin = te.get_origin(hint)
    if origin in (te.NotRequired, te.Required):
        return _node(te.get_args(hint)[0], namespace, depth)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        found = [n for n in (_node(a, namespace, depth) for a in te.get_args(hint)) if n]
        return found[-1] if found else None
    if origin is list:
        inner = _node(te.get_args(hint)[0], namespace, depth + 1)
        return {"items": inner} if inner else None
    if te.is_typeddict(hint):
        own = vars(sys.modules[hint.__module__])
        return {"fields": {k: _node(v, own, depth + 1) for k, v in hint.__annotations__.items()}}
    return None


def build() -> dict[str, dict[str, Any]]:
    import importlib

    table: dict[str, dict[str, Any]] = {}
    for (method, route), target in SDK_PARAMS.items():
        module_name, class_name = target.split(":")
        module = importlib.import_module(f"stripe.params.{module_name}")
        top = _node(getattr(module, class_name), vars(module)) or {"fields": {}}
        nested = {k: v for k, v in top["fields"].items() if v is not None and k in ACCEPTED[(method, route)]}
        if nested:
            table[f"{method} {route}"] = nested
    return table


if __name__ == "__main__":
    NESTED.write_text(json.dumps(build(), sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {NESTED} ({NESTED.stat().st_size} bytes)")
