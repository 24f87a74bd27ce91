"""The usage directory: which contract a usage event bills, in which Stripe account and customer,
on which meters, and when its monthly billing periods start.

One JSON record per CRM contract (``{prefix}{usage}:contract:<id>``) and a set of contract ids per
CRM account (``...:account:<id>``), so a sender may name the customer instead of the contract when
the customer has one contract. Onboarding registers an entry once the billing customer exists;
``register`` overwrites (idempotent), moving the contract between accounts' sets in one script.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from revbridge_process.usage import keys

_REGISTER = """
local old = redis.call('GET', KEYS[1])
if old then
  local previous = cjson.decode(old)['crm_account_id']
  if previous ~= ARGV[2] then redis.call('SREM', ARGV[3] .. previous, ARGV[4]) end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
"""


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
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis, self._prefix = redis, prefix
        self._register = redis.register_script(_REGISTER)

    async def register(self, entry: DirectoryEntry) -> None:
        await self._register(
            keys=[
                keys.contract(self._prefix, entry.contract_id),
                keys.account(self._prefix, entry.crm_account_id),
            ],
            args=[
                entry.model_dump_json(),
                entry.crm_account_id,
                keys.account(self._prefix, ""),
                entry.contract_id,
            ],
        )

    async def get(self, contract_id: str) -> DirectoryEntry | None:
        raw = await self._redis.get(keys.contract(self._prefix, contract_id))
        return DirectoryEntry.model_validate_json(raw) if raw else None

    async def get_many(self, contract_ids: Iterable[str]) -> dict[str, DirectoryEntry]:
        """The entries of the contracts that have one (one round trip)."""
        wanted = sorted(set(contract_ids))
        if not wanted:
            return {}
        raws = await self._redis.mget([keys.contract(self._prefix, c) for c in wanted])
        return {c: DirectoryEntry.model_validate_json(r) for c, r in zip(wanted, raws, strict=True) if r}

    async def contracts_of(self, crm_account_id: str) -> set[str]:
        members = await self._redis.smembers(keys.account(self._prefix, crm_account_id))  # type: ignore[misc]
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def by_customer(self, crm_account_id: str) -> DirectoryEntry | None:
        """The customer's one metered contract; ``AmbiguousCustomer`` when it has several."""
        contracts = await self.contracts_of(crm_account_id)
        if len(contracts) > 1:
            raise AmbiguousCustomer(crm_account_id)
        return await self.get(next(iter(contracts))) if contracts else None
