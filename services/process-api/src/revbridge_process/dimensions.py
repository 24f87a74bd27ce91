"""The analytics model's reference tables from ``config/mappings.yaml``: ``analytics.ref_legal_entity``
(dim_entity's names) and ``analytics.ref_product`` (dim_product).

The process API writes them at start-up, so the BI views name what the running configuration names;
``revbridge db seed-dimensions`` does the same by hand. One transaction under an advisory lock: two
replicas starting together do not interleave their replacements.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process.config import Mappings

LOCK = 7_311_002
"""pg_advisory_xact_lock key of the replacement (``revbridge_db.engine.MIGRATION_LOCK`` is 7_311_001)."""


async def seed(engine: AsyncEngine, mappings: Mappings) -> dict[str, int]:
    """Replace the reference tables by ``mappings``' legal entities, products and meters."""
    entities = [
        {
            "entity": code,
            "name": e.name,
            "subsidiary_id": e.subsidiary_id,
            "currency": e.currency,
            "billing_account": e.billing_account,
        }
        for code, e in sorted(mappings.legal_entities.items())
    ]
    products = [
        _product(code, p.name, "recurring", p.billing_price_ref, p.erp_item_id, None)
        for code, p in sorted(mappings.products.items())
    ] + [
        _product(code, m.name, "usage", m.billing_price_ref, m.erp_item_id, m.event_name)
        for code, m in sorted(mappings.meters.items())
    ]
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})
        await conn.execute(text("DELETE FROM analytics.ref_legal_entity"))
        if entities:
            await conn.execute(
                text(
                    "INSERT INTO analytics.ref_legal_entity (entity, name, subsidiary_id, currency, "
                    "billing_account) VALUES (:entity, :name, :subsidiary_id, :currency, :billing_account)"
                ),
                entities,
            )
        await conn.execute(text("DELETE FROM analytics.ref_product"))
        if products:
            await conn.execute(
                text(
                    "INSERT INTO analytics.ref_product (product_code, name, product_type, "
                    "billing_price_ref, erp_item_id, meter_event_name) VALUES (:product_code, :name, "
                    ":product_type, :billing_price_ref, :erp_item_id, :meter_event_name)"
                ),
                products,
            )
    return {"legal_entities": len(entities), "products": len(products)}


def _product(
    code: str, name: str | None, kind: str, price: str, item: str, event_name: str | None
) -> dict[str, str | None]:
    return {
        "product_code": code,
        "name": name,
        "product_type": kind,
        "billing_price_ref": price,
        "erp_item_id": item,
        "meter_event_name": event_name,
    }
