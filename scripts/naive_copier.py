"""A point-to-point Stripe → NetSuite copier written the way many teams write one: the baseline the
chaos run compares revbridge with. Not part of revbridge; deliberately naive.

It listens for Stripe webhooks and, per event, does a plain create in NetSuite: no idempotency
key, no external id, no look-up before writing, no queue. A NetSuite call that fails or times out
is retried a few times in the request; if it still fails, the webhook answers 500 and Stripe
redelivers it later. What it knows (Stripe customer/invoice → NetSuite internal id) sits in a
local SQLite file, so a restart keeps it. Everything a careful integration does is missing on
purpose — which is why a lost answer after a committed write becomes a duplicate, and an event
whose retries run out becomes a miss.

    python -m scripts.naive_copier --port 9000 --netsuite http://127.0.0.1:12114 --db copier.sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from typing import Any

import httpx
from aiohttp import web
from revbridge_system.adapters.netsuite.tba import TokenAuth  # signing is not what the copier gets wrong

RECORD = "/services/rest/record/v1"
ATTEMPTS = 3
SUBSIDIARY = {"usd": "1", "gbp": "2"}  # hard-coded, as such scripts do
CURRENCY = {"usd": "1", "gbp": "2"}
GENERIC_ITEM = "101"
# NetSuite sandbox demo credentials (DEMO VALUES, sandbox only)
TBA = {
    "client_id": "revbridge-demo-consumer-key",
    "client_secret": "revbridge-demo-consumer-secret",
    "token": "revbridge-demo-token-id",
    "token_secret": "revbridge-demo-token-secret",
    "realm": "1234567_SB1",
}


class Copier:
    def __init__(self, netsuite: str, db_path: str, timeout: float) -> None:
        auth = TokenAuth(**TBA)
        self.http = httpx.AsyncClient(base_url=netsuite + RECORD, auth=auth, timeout=timeout)
        self.db = sqlite3.connect(db_path, isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS ids (stripe_id TEXT PRIMARY KEY, netsuite_id TEXT)")

    def known(self, stripe_id: str) -> str | None:
        row = self.db.execute("SELECT netsuite_id FROM ids WHERE stripe_id = ?", (stripe_id,)).fetchone()
        return str(row[0]) if row else None

    def remember(self, stripe_id: str, netsuite_id: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO ids VALUES (?, ?)", (stripe_id, netsuite_id))

    async def create(self, record_type: str, body: dict[str, Any]) -> str:
        """POST, retried on any error or timeout; the new internal id from ``Location``."""
        for attempt in range(ATTEMPTS):
            try:
                response = await self.http.post(f"/{record_type}", json=body)
                if response.is_success:
                    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{record_type} not created")

    async def handle(self, event: dict[str, Any]) -> None:
        obj = event["data"]["object"]
        currency = str(obj.get("currency") or "usd").lower()
        if event["type"] == "customer.created":
            currency = str((obj.get("metadata") or {}).get("revbridge_currency") or "usd").lower()
            body = {
                "companyName": obj.get("name") or obj["id"],
                "subsidiary": {"id": SUBSIDIARY.get(currency, "1")},
                "currency": {"id": CURRENCY.get(currency, "1")},
            }
            self.remember(obj["id"], await self.create("customer", body))
        elif event["type"] == "invoice.finalized":
            customer = self.known(obj["customer"])
            if customer is None:
                raise RuntimeError("customer not copied yet")
            lines = [
                {"item": {"id": GENERIC_ITEM}, "quantity": 1, "amount": line["amount"] / 100}
                for line in obj["lines"]["data"]
            ]
            body = {"entity": {"id": customer}, "memo": obj["id"], "item": {"items": lines}}
            self.remember(obj["id"], await self.create("invoice", body))
        elif event["type"] == "invoice.paid" and obj.get("amount_paid"):
            customer, invoice = self.known(obj["customer"]), self.known(obj["id"])
            if customer is None or invoice is None:
                raise RuntimeError("invoice not copied yet")
            amount = obj["amount_paid"] / 100
            apply = {"items": [{"doc": {"id": invoice}, "apply": True, "amount": amount}]}
            body = {"customer": {"id": customer}, "payment": amount, "memo": obj["id"], "apply": apply}
            await self.create("customerpayment", body)

    async def webhook(self, request: web.Request) -> web.Response:
        try:
            await self.handle(await request.json())
        except Exception as exc:  # the naive answer to every failure: 500, let Stripe try again
            return web.json_response({"error": str(exc)}, status=500)
        return web.json_response({"received": True})


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.naive_copier")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--netsuite", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    copier = Copier(args.netsuite, args.db, args.timeout)
    app = web.Application()
    app.router.add_post("/webhooks/stripe", copier.webhook)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
