"""Schemathesis' stateful phase: sequences of calls that follow the contracts' OpenAPI ``links``.

The contracts link the operations that chain (start an onboarding → read it by the returned
``contract_id``; list exceptions → read, retry, resolve or reassign the first one by its ``id``;
start a reconciliation → read its report), so the state machine feeds real ids from one answer into
the next call instead of random ones. Every answer is held to the same checks as the stateless
fuzzing, plus schemathesis' stateful ones (a resource just created is readable; a deleted one stays
gone). Bounded and reproducible like the stateless phase: a fixed number of short scenarios,
derandomised, no example database.

A fresh stack's exception queue is empty, so the list → act-on-the-first links would have nothing to
follow: ``open_an_exception`` first parks one real exception there (a contract whose product has no
mapping, started through the gateway as a partner would), the way the onboarding gate does it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
from schemathesis import Case
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free
from schemathesis.specs.openapi.schemas import OpenApiSchema

from scripts import seed
from scripts.stack import Stack
from tests.contract.conftest import CHECKS

STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]


def run_workflows(
    schema: OpenApiSchema,
    base_url: str,
    headers: Callable[[Case], dict[str, str]] | None = None,
    scenarios: int = 25,
    steps: int = 6,
    attempts: int = 3,
) -> None:
    """Run ``scenarios`` linked call sequences of up to ``steps`` calls against ``base_url``.

    The scenarios change the system they run against (a retried exception is retrying, a resolved one
    leaves the open list), so Hypothesis may find that replaying an earlier choice no longer enables
    the same links and stop with ``FlakyStrategyDefinition``. That is the end of one exploration, not
    a finding (schemathesis' own runner treats it so): a check that failed before it is raised, and
    otherwise a fresh exploration runs the scenarios still owed, at most ``attempts`` times.
    """
    failures: list[Exception] = []
    started = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            nonlocal started
            started += 1

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": base_url, "headers": headers(case) if headers else {}}

        def validate_response(
            self, response: Any, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(
                    response,
                    checks=STATEFUL_CHECKS,
                    transport_kwargs=kwargs or None,
                    recorder=getattr(self, "recorder", None),  # the scenario so far, for the stateful checks
                )
            except Exception as exc:
                failures.append(exc)
                raise

    for _ in range(attempts):
        owed = scenarios - started
        if owed <= 0:
            return
        try:
            Workflow.run(settings=_settings(owed, steps))
            return
        except hypothesis.errors.FlakyStrategyDefinition:
            if failures:
                raise failures[0] from None
    assert started >= scenarios, f"only {started} of {scenarios} scenarios ran"


def _settings(scenarios: int, steps: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=scenarios,
        stateful_step_count=steps,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )


def open_an_exception(stack: Stack, tokens: dict[str, str], timeout: float = 60.0) -> str:
    """The id of an open exception: a contract with an unmapped product, started through the gateway."""
    gateway = stack.url("gateway")
    with seed.salesforce_client(stack.url("salesforce")) as crm:
        product = seed.sf_create(crm, "Product2", {"Name": "Unmapped widget", "ProductCode": "UNMAPPED-W"})
        account = seed.sf_create(
            crm, "Account", {"Name": "Fuzz Co", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
        )
        contract = seed.seed_contract(crm, account, {"UNMAPPED-W": product}, [("UNMAPPED-W", 1)], "Fuzz")
        seed.activate(crm, contract)
    started = httpx.post(
        f"{gateway}/process/v1/onboardings",
        json={"contract_id": contract},
        headers={"Authorization": f"Bearer {tokens['partner']}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert started.status_code == 202, started.text

    def parked() -> str | None:
        page = httpx.get(
            f"{gateway}/process/v1/exceptions",
            params={"business_key": contract},
            headers={"Authorization": f"Bearer {tokens['internal']}"},
            timeout=10,
        ).json()
        return str(page["items"][0]["id"]) if page["items"] else None

    return str(seed.poll(parked, "the unmapped contract's exception", timeout=timeout))
