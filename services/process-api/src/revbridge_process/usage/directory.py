"""The usage directory: which contract a usage event bills, in which Stripe account and customer,
on which meters, and when its monthly billing periods start.

One row per CRM contract in PostgreSQL (``revbridge.usage_contract``: business configuration, it
survives the loss of Redis), indexed by CRM account, so a sender may name the customer instead of
the contract when the customer has one contract. Onboarding registers an entry once the billing
customer exists; ``register`` overwrites (idempotent), moving the contract between accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from revbridge_contracts.problems import UpstreamUnavailable
from revbridge_db.engine import is_unavailable, retrying
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class DirectoryEntry(BaseModel):
    """A metered contract as usage ingestion needs it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    contract_id: str = Field(min_length=1)
    crm_account_id: str = Field(min_length=1)
    billing_account: str = Field(min_length=1, description="Stripe account as the system API names it")
    billing_customer_id: str = Field(min_length=1, description="Stripe customer id")
    meters: frozenset[str] = Field(description="event names of the contract's usage lines")
    billing_anchor: AwareDatetime = Field(description="period k = [anchor + k months, anchor + k+1 months)")
    test_clock: str | None = Field(default=None, description="Stripe test clock of the customer, if any")


class AmbiguousCustomer(LookupError):
    """The CRM account has several metered contracts: the sender must name the contract."""


class UsageDirectory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _rows(self, sql: str, **params: object) -> list[Any]:
        try:
            async with self._engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())
        except Exception as exc:
            if is_unavailable(exc):
                raise UpstreamUnavailable("the usage directory's database is unavailable") from exc
            raise

    async def register(self, entry: DirectoryEntry) -> None:
        async def write() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO revbridge.usage_contract (contract_id, crm_account_id, entry)"
                        " VALUES (:c, :a, CAST(:e AS jsonb)) ON CONFLICT (contract_id) DO UPDATE"
                        " SET crm_account_id = excluded.crm_account_id, entry = excluded.entry,"
                        " registered_at = now()"
                    ),
                    {"c": entry.contract_id, "a": entry.crm_account_id, "e": entry.model_dump_json()},
                )

        await retrying(write)

    async def get(self, contract_id: str) -> DirectoryEntry | None:
        return (await self.get_many([contract_id])).get(contract_id)

    async def get_many(self, contract_ids: Iterable[str]) -> dict[str, DirectoryEntry]:
        """The entries of the contracts that have one (one query)."""
        wanted = sorted(set(contract_ids))
        if not wanted:
            return {}
        rows = await self._rows(
            "SELECT contract_id, entry FROM revbridge.usage_contract WHERE contract_id = ANY(:ids)",
            ids=wanted,
        )
        return {c: DirectoryEntry.model_validate(e) for c, e in rows}

    async def contracts_of(self, crm_account_id: str) -> set[str]:
        rows = await self._rows(
            "SELECT contract_id FROM revbridge.usage_contract WHERE crm_account_id = :a", a=crm_account_id
        )
        return {c for (c,) in rows}

    async def by_customer(self, crm_account_id: str) -> DirectoryEntry | None:
        """The customer's one metered contract; ``AmbiguousCustomer`` when it has several."""
        contracts = await self.contracts_of(crm_account_id)
        if len(contracts) > 1:
            raise AmbiguousCustomer(crm_account_id)
        return await self.get(next(iter(contracts))) if contracts else None
