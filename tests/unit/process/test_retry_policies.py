"""Retry policies are data: ``config/retry-policies.yaml`` is validated at start-up, and each flow step
retries (or gives up) as its entry says, falling back to the ``PROCESS_RETRY_*`` defaults."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import get_args

import pytest
from revbridge_contracts.process import ErrorClass
from revbridge_process.config import ConfigError, Step, load_config
from revbridge_process.dispatch import FLOW_OF
from revbridge_process.errors import FlowFailure, SystemConflict, SystemRateLimited, SystemUnavailable
from revbridge_process.retry import RetryPolicy, step_runner, with_retries

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
DEFAULT = RetryPolicy(attempts=3, base_seconds=0.5, max_seconds=10.0)
pytestmark = pytest.mark.anyio


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("mappings.yaml", "exceptions.yaml", "retry-policies.yaml"):
        shutil.copy(REPO_CONFIG / name, tmp_path / name)
    return tmp_path


def _error(config_dir: Path, text: str) -> str:
    (config_dir / "retry-policies.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return str(caught.value)


def test_repository_policies_rank_payment_posting_above_the_crm_write_back() -> None:
    retries = load_config(REPO_CONFIG).retries
    posting, writeback = retries.policy("invoice_posting", DEFAULT), retries.policy("crm_writeback", DEFAULT)
    assert posting.max_deliveries and not posting.give_up
    # the shortest the redeliveries can add up to (the jitter at its lowest): over an hour of trying
    shortest = sum(
        posting.redelivery_delay(n, None, rand=lambda: 0.0) for n in range(1, posting.max_deliveries)
    )
    assert shortest > 3600
    assert writeback.attempts < posting.attempts and writeback.max_seconds <= posting.max_seconds
    assert retries.sla_hours()["invoice_posting"] <= 1
    assert retries.policy("intake", DEFAULT) is DEFAULT  # no entry: the settings


@pytest.mark.parametrize("step", ["invoice_voiding", "credit_posting", "refund_posting"])
def test_write_offs_credit_memos_and_refunds_retry_like_invoice_posting(step: str) -> None:
    retries = load_config(REPO_CONFIG).retries
    assert retries.policy(step, DEFAULT) == retries.policy("invoice_posting", DEFAULT)
    assert retries.sla_hours()[step] == retries.sla_hours()["invoice_posting"]


def test_dunning_redelivers_with_its_own_lower_cap() -> None:
    retries = load_config(REPO_CONFIG).retries
    dunning, posting = retries.policy("invoice_dunning", DEFAULT), retries.policy("invoice_posting", DEFAULT)
    assert dunning is not DEFAULT and not dunning.give_up
    assert ErrorClass.rate_limited in dunning.retryable
    assert dunning.max_deliveries is not None and posting.max_deliveries is not None
    assert dunning.max_deliveries < posting.max_deliveries
    assert "invoice_dunning" not in retries.sla_hours()  # its page is payment_overdue's, not a retry's


def test_policy_steps_are_the_flows_the_worker_runs() -> None:
    """A step name the flows do not use would silently never apply (the earlier names drifted)."""
    flows = set(FLOW_OF.values())
    assert set(get_args(Step)) == flows | {"crm_writeback"}
    assert set(load_config(REPO_CONFIG).retries.steps) == set(get_args(Step))  # every step has its entry


@pytest.mark.parametrize(
    ("text", "entry", "problem"),
    [
        (
            "steps:\n  invoice_postng: {max_attempts: 2, base_seconds: 1, max_seconds: 2, retryable: []}\n",
            "steps.invoice_postng",
            "Input should be",
        ),
        (
            "steps:\n  onboarding: {max_attempts: 2, base_seconds: 1, max_seconds: 2,"
            " retryable: [mapping_missing]}\n",
            "steps.onboarding.retryable",
            "mapping_missing cannot succeed on retry",
        ),
        (
            "steps:\n  onboarding: {max_attempts: 0, base_seconds: 1, max_seconds: 2, retryable: []}\n",
            "steps.onboarding.max_attempts",
            "greater than or equal to 1",
        ),
        (
            "steps:\n  onboarding: {max_attempts: 2, base_seconds: 5, max_seconds: 2, retryable: []}\n",
            "steps.onboarding",
            "max_seconds is below base_seconds",
        ),
        (
            "steps:\n  onboarding: {max_attempts: 2, base_seconds: 1, max_seconds: 2, retryable: [],"
            " on_exhausted: shrug}\n",
            "steps.onboarding.on_exhausted",
            "'redeliver' or 'give_up'",
        ),
    ],
)
def test_invalid_policy_names_file_entry_and_problem(
    config_dir: Path, text: str, entry: str, problem: str
) -> None:
    message = _error(config_dir, text)
    assert "retry-policies.yaml" in message and entry in message and problem in message


def test_missing_policy_file_stops_start_up(config_dir: Path) -> None:
    (config_dir / "retry-policies.yaml").unlink()
    with pytest.raises(ConfigError, match=r"retry-policies.yaml: file not found"):
        load_config(config_dir)


def test_jitter_modes_bound_the_wait() -> None:
    cap = 4.0  # attempt 3 with base 1
    full, equal, none = (RetryPolicy(base_seconds=1.0, jitter=j) for j in ("full", "equal", "none"))
    assert full.delay(3, None, rand=lambda: 0.0) == 0.0 and full.delay(3, None, rand=lambda: 1.0) == cap
    assert equal.delay(3, None, rand=lambda: 0.0) == cap / 2
    assert none.delay(3, None, rand=lambda: 0.3) == cap


async def no_sleep(_: float) -> None: ...


async def test_only_the_policys_retryable_classes_are_retried_in_process() -> None:
    calls: list[str] = []

    async def rate_limited() -> None:
        calls.append("429")
        raise SystemRateLimited("429")

    only_5xx = RetryPolicy(
        attempts=4, base_seconds=0.0, retryable=frozenset({ErrorClass.upstream_unavailable})
    )
    with pytest.raises(SystemRateLimited):
        await with_retries(rate_limited, only_5xx, no_sleep)
    assert calls == ["429"]

    async def conflict() -> None:
        calls.append("409")
        raise SystemConflict("409")

    with pytest.raises(SystemConflict):
        await with_retries(
            conflict, RetryPolicy(attempts=3, retryable=frozenset({ErrorClass.conflict})), no_sleep
        )
    assert calls.count("409") == 3


async def test_a_step_that_gives_up_becomes_an_owned_failure() -> None:
    attempts = 0

    async def crm_down() -> None:
        nonlocal attempts
        attempts += 1
        raise SystemUnavailable("503 from the CRM")

    run = step_runner("crm_writeback", RetryPolicy(attempts=2, base_seconds=0.0, give_up=True), no_sleep)
    with pytest.raises(FlowFailure) as caught:
        await run(crm_down)
    assert attempts == 2 and caught.value.error_class == ErrorClass.upstream_unavailable
    assert "crm_writeback gave up after 2 attempt(s)" in caught.value.reason

    redeliver = step_runner("crm_writeback", RetryPolicy(attempts=1), no_sleep)
    with pytest.raises(SystemUnavailable):
        await redeliver(crm_down)


async def test_a_rate_limited_write_back_waits_for_retry_after_and_is_never_given_up() -> None:
    """Salesforce answering 429 is not a broken CRM: the write-back retries after the Retry-After,
    and a throttle outlasting its attempts goes on to the flow's policy (redelivered), not abandoned."""
    policy = load_config(REPO_CONFIG).retries.policy("crm_writeback", DEFAULT)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    answers: list[Exception | None] = [SystemRateLimited("429 from the CRM", retry_after=4.0), None]

    async def write_back() -> str:
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return "linked"

    run = step_runner("crm_writeback", policy, sleep)
    assert await run(write_back) == "linked"
    assert len(waits) == 1 and waits[0] >= 4.0  # Retry-After honoured

    async def throttled() -> None:
        raise SystemRateLimited("429 from the CRM", retry_after=90.0)

    with pytest.raises(SystemRateLimited) as caught:  # left to the onboarding's redelivery
        await run(throttled)
    assert caught.value.retry_after == 90.0
