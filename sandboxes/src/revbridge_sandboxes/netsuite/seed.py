"""Reference data every sandbox account starts with (and gets back on reset).

Currencies, subsidiaries and GL accounts are read-only through the API (items can be added); their ids
are what the revbridge mapping configuration points at.
"""

from __future__ import annotations

from typing import Any


def seed_reference_data() -> dict[str, dict[str, dict[str, Any]]]:
    currencies = [
        ("1", "US Dollar", "USD", "$"),
        ("2", "British pound", "GBP", "£"),
        ("3", "Canadian Dollar", "CAD", "$"),
        ("4", "Euro", "EUR", "€"),
    ]
    subsidiaries = [
        ("1", "Revbridge Inc.", "US", "1"),
        ("2", "Revbridge Ltd.", "GB", "2"),
        ("3", "Revbridge GmbH", "DE", "4"),
    ]
    items = [
        ("101", "PLAT-ENT", "Platform Enterprise"),
        ("102", "SEAT", "Additional seats"),
        ("103", "SUPPORT-PREM", "Premium support"),
        ("104", "API-CALLS", "API calls (usage overage)"),
    ]
    accounts = [
        ("1", "Accounts Receivable", "AcctRec"),
        ("2", "Undeposited Funds", "OthCurrAsset"),
        ("3", "Deferred Revenue", "DeferRevenue"),
        ("4", "Revenue", "Income"),
        ("5", "Checking", "Bank"),
        ("6", "Sales Returns", "Income"),
    ]
    return {
        "currency": {
            cid: {
                "id": cid,
                "name": name,
                "symbol": symbol,
                "displaySymbol": sign,
                "isBaseCurrency": cid == "1",
            }
            for cid, name, symbol, sign in currencies
        },
        "subsidiary": {
            sid: {"id": sid, "name": name, "country": country, "currency": currency, "isInactive": False}
            for sid, name, country, currency in subsidiaries
        },
        "serviceSaleItem": {
            iid: {"id": iid, "itemId": code, "displayName": display, "incomeAccount": "4"}
            | {"isInactive": False}
            for iid, code, display in items
        },
        "nonInventorySaleItem": {},
        "account": {
            aid: {"id": aid, "acctName": name, "acctType": kind, "isInactive": False}
            for aid, name, kind in accounts
        },
    }
