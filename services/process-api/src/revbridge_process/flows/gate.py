"""Parts of onboarding's pre-flight gate beyond entity and products: tax attributes and hierarchy.

Tax: the billing country must have a tax code in ``mappings.yaml`` (``tax.countries``); a country
that requires a tax id (B2B VAT) needs one on the account, unless the account is tax exempt, which
maps to ``tax.exempt_tax_code``. Every such failure is ``tax_code_missing`` (owned by tax ops).

Hierarchy: an account is never its own parent; a child waits for its parent's onboarding (parent
first, or both activated together): while the parent has no billing customer the child's contract
is deferred (a conflict, redelivered later), not failed, so it goes through on its own once the
parent is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from revbridge_contracts.models import Customer
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import Mappings
from revbridge_process.errors import FlowFailure, SystemConflict


@dataclass(frozen=True)
class TaxProfile:
    tax_code: str
    tax_id: str | None


def tax_gate(account: Customer, mappings: Mappings) -> TaxProfile:
    """The account's tax code (and id); ``FlowFailure(tax_code_missing)`` when it cannot be had."""
    tax = mappings.tax
    if account.tax_exempt:
        if not tax.exempt_tax_code:
            raise FlowFailure(
                ErrorClass.tax_code_missing,
                f"account {account.crm_account_id} is tax exempt but no exempt tax code is configured",
            )
        return TaxProfile(tax.exempt_tax_code, account.tax_id)
    rule = tax.countries.get(account.country or "")
    if rule is None:
        raise FlowFailure(
            ErrorClass.tax_code_missing, f"no tax code for billing country {account.country or '(none)'}"
        )
    if rule.tax_id_required and not (account.tax_id or "").strip():
        raise FlowFailure(
            ErrorClass.tax_code_missing,
            f"account {account.crm_account_id} in {account.country} needs a tax id or a tax exemption",
        )
    return TaxProfile(rule.tax_code, account.tax_id or None)


def hierarchy_gate(account: Customer, parent: Customer | None) -> None:
    """Refuse a self-parented account; defer a child whose parent is not onboarded yet."""
    parent_id = account.parent_crm_account_id
    if not parent_id:
        return
    if parent_id == account.crm_account_id:
        raise FlowFailure(ErrorClass.validation, f"account {parent_id} is its own parent")
    if parent is None or not parent.billing_customer_id:
        raise SystemConflict(
            f"parent account {parent_id} not onboarded yet; "
            "the contract waits for it (parent first, or both together)"
        )
