"""Fuzz the gateway with the process and experience contracts, as partners and internal apps call it.

The gateway serves each upstream contract under its own prefix (``/process/v1/...``,
``/experience/v1/...``), so each contract is aimed at that prefix. Every request carries a token
of the demo client whose scopes fit the operation's ``x-audience``: the partner client for
partner operations, the internal client for internal ones. The answers must hold to the same
contract as the service's own: no server error, documented statuses, documented shapes.
"""

from __future__ import annotations

from schemathesis import Case

from scripts.stack import Stack
from tests.contract.conftest import CHECKS, contract_schema

MAX_EXAMPLES = 15

process = contract_schema("process", MAX_EXAMPLES)
experience = contract_schema("experience", MAX_EXAMPLES)


def bearer(case: Case, tokens: dict[str, str]) -> dict[str, str]:
    """The Authorization header of the client that may call this operation."""
    audience = case.operation.definition.raw["x-audience"]
    return {"Authorization": f"Bearer {tokens[audience]}"}


@process.parametrize()
def test_gateway_process_routes_answer_every_fuzzed_request_within_the_contract(
    case: Case, stack: Stack, tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"{stack.url('gateway')}/process", headers=bearer(case, tokens), checks=CHECKS
    )


@experience.parametrize()
def test_gateway_experience_routes_answer_every_fuzzed_request_within_the_contract(
    case: Case, stack: Stack, tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"{stack.url('gateway')}/experience", headers=bearer(case, tokens), checks=CHECKS
    )
