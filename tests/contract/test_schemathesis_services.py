"""Fuzz each service directly against its OpenAPI contract (schemathesis, a real stack).

Every operation of the system, process and experience (v1 and v2) contracts gets generated requests, valid
and invalid; each answer must not be a server error, must use a status the contract lists, and
must match the schema the contract gives for that status. The system API's webhook and callout
ingress get unsigned bodies, which must be refused with 400. Then the stateful phase
(``stateful.py``) on the process and experience APIs: call sequences that follow the contracts' links.
"""

from __future__ import annotations

import pytest
from revbridge_contracts.loader import openapi
from schemathesis import Case

from scripts.stack import Stack
from tests.contract.conftest import CHECKS, contract_schema
from tests.contract.stateful import open_an_exception, run_workflows

MAX_EXAMPLES = 15
SIGNED_INGRESS = {"receiveStripeWebhook", "receiveSalesforceContractActivated"}

system = contract_schema("system", MAX_EXAMPLES)
process = contract_schema("process", MAX_EXAMPLES)
experience = contract_schema("experience", MAX_EXAMPLES)
experience_v2 = contract_schema("experience", MAX_EXAMPLES, openapi("experience", 2))
STATEFUL_SCENARIOS = 10  # fewer than through the gateway: the same links, one hop shorter


@system.parametrize()
def test_system_api_answers_every_fuzzed_request_within_its_contract(case: Case, stack: Stack) -> None:
    response = case.call_and_validate(base_url=stack.url("system"), checks=CHECKS)
    if case.operation.definition.raw["operationId"] in SIGNED_INGRESS and case.method == "POST":
        # no fuzzed signature verifies: refused as a bad request (or an unknown Stripe account)
        assert response.status_code in (400, 404), response.text


@process.parametrize()
def test_process_api_answers_every_fuzzed_request_within_its_contract(case: Case, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.url("process"), checks=CHECKS)


@experience.parametrize()
def test_experience_api_answers_every_fuzzed_request_within_its_contract(case: Case, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.url("experience"), checks=CHECKS)


@experience_v2.parametrize()
def test_experience_api_v2_answers_every_fuzzed_request_within_its_contract(case: Case, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.url("experience"), checks=CHECKS)


@pytest.fixture(scope="module")
def open_exception(stack: Stack, tokens: dict[str, str]) -> str:
    return open_an_exception(stack, tokens)


def test_process_api_onboarding_workflow_reads_back_what_it_started(stack: Stack) -> None:
    onboarding = process.include(operation_id=["startOnboarding", "getOnboarding"])
    run_workflows(onboarding, stack.url("process"), scenarios=STATEFUL_SCENARIOS)


def test_process_api_workflows_follow_the_contract_links(stack: Stack, open_exception: str) -> None:
    run_workflows(process, stack.url("process"), scenarios=STATEFUL_SCENARIOS)


def test_experience_api_v2_workflows_follow_the_contract_links(stack: Stack, open_exception: str) -> None:
    run_workflows(experience_v2, stack.url("experience"), scenarios=STATEFUL_SCENARIOS)
