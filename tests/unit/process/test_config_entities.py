"""The second legal entity, tax codes and flow policies are configuration, checked at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from revbridge_process.config import ConfigError, load_config

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("mappings.yaml", "exceptions.yaml", "retry-policies.yaml", "flows.yaml"):
        shutil.copy(REPO_CONFIG / name, tmp_path / name)
    return tmp_path


def _error(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return str(caught.value)


def test_repository_config_has_two_entities_tax_codes_and_flow_policies() -> None:
    config = load_config(REPO_CONFIG)
    gb = config.mappings.legal_entities["GB"]
    assert (gb.subsidiary_id, gb.currency, gb.billing_account) == ("2", "GBP", "uk")
    assert config.mappings.billing_accounts() == ["default", "uk"]
    assert config.mappings.products["SEAT"].price_ref("GBP") == "seat_monthly_gbp"
    assert config.mappings.products["SEAT"].price_ref("USD") == "seat_monthly_usd"
    assert config.mappings.tax.countries["GB"].tax_id_required is True
    assert config.mappings.entity_of_account("uk") == ("GB", gb)
    assert config.flows.dunning.exception_after_attempts == 3
    assert config.exceptions.for_class("payment_overdue").owner == "collections"  # type: ignore[arg-type]


def test_flows_file_is_optional(config_dir: Path) -> None:
    (config_dir / "flows.yaml").unlink()
    assert load_config(config_dir).flows.revenue.recognize_on_posting is True


@pytest.mark.parametrize(
    ("file", "text", "named"),
    [
        ("flows.yaml", "dunning: {exception_after_attempts: 0}\n", "dunning.exception_after_attempts"),
        ("flows.yaml", "amendments: {proration_behavior: sometimes}\n", "amendments.proration_behavior"),
        ("flows.yaml", "revenu: {}\n", "revenu"),
    ],
)
def test_bad_flow_policy_names_file_and_entry(config_dir: Path, file: str, text: str, named: str) -> None:
    (config_dir / file).write_text(text)
    message = _error(config_dir)
    assert file in message and named in message


def test_price_in_a_currency_no_entity_bills_is_refused(config_dir: Path) -> None:
    text = (
        (config_dir / "mappings.yaml")
        .read_text()
        .replace("{GBP: seat_monthly_gbp}", "{EUR: seat_monthly_eur}")
    )
    (config_dir / "mappings.yaml").write_text(text)
    message = _error(config_dir)
    assert "mappings.yaml" in message and "products.SEAT.billing_price_refs.EUR" in message


def test_tax_rule_for_a_country_no_entity_bills_is_refused(config_dir: Path) -> None:
    text = (config_dir / "mappings.yaml").read_text().replace("    GB: {tax_code:", "    DE: {tax_code:")
    (config_dir / "mappings.yaml").write_text(text)
    message = _error(config_dir)
    assert "tax.countries.DE" in message and "no legal entity" in message


def test_one_billing_account_bills_one_currency(config_dir: Path) -> None:
    with (config_dir / "mappings.yaml").open("a") as f:
        f.write("  IE: {name: Revbridge Inc., subsidiary_id: '1', currency: EUR, billing_account: default}\n")
    message = _error(config_dir)
    assert "legal_entities.IE.currency" in message and "one Stripe account bills one currency" in message
