"""Reads done once per event: a view of ``SystemPort`` that remembers invoices and contracts.

One event may run several steps that each read the same invoice (posting, then revenue
recognition); within one event the record is the same, so the second read is served from memory
instead of going to Stripe again. Writes and every other call pass straight through.
"""

from __future__ import annotations

from typing import Any, cast

from revbridge_contracts.models import Contract, Invoice

from revbridge_process.ports import SystemPort


class ReadOnce:
    """Wraps a ``SystemPort`` for the span of one event (build a new one per event)."""

    def __init__(self, system: SystemPort) -> None:
        self._system = system
        self._invoices: dict[tuple[str, str], Invoice] = {}
        self._contracts: dict[str, Contract] = {}

    async def get_invoice(self, account: str, invoice_id: str) -> Invoice:
        key = (account, invoice_id)
        if key not in self._invoices:
            self._invoices[key] = await self._system.get_invoice(account, invoice_id)
        return self._invoices[key]

    async def get_contract(self, contract_id: str) -> Contract:
        if contract_id not in self._contracts:
            self._contracts[contract_id] = await self._system.get_contract(contract_id)
        return self._contracts[contract_id]

    def forget_contract(self, contract_id: str) -> None:
        """After a write to the contract, the next read goes to the CRM again."""
        self._contracts.pop(contract_id, None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._system, name)


def read_once(system: SystemPort) -> SystemPort:
    return cast(SystemPort, ReadOnce(system))
