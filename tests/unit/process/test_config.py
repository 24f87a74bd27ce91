"""Configuration is validated at start-up: a bad file stops it, naming the file, entry and problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from revbridge_contracts.process import ErrorClass
from revbridge_process.config import ConfigError, load_config

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("mappings.yaml", "exceptions.yaml", "retry-policies.yaml"):
        shutil.copy(REPO_CONFIG / name, tmp_path / name)
    return tmp_path


def _error(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return str(caught.value)


def test_repository_config_is_valid_and_complete() -> None:
    config = load_config(REPO_CONFIG)
    assert config.mappings.products["SEAT"].billing_price_ref == "seat_monthly_usd"
    assert config.mappings.products["PLAT-ENT"].erp_item_id == "101"
    assert config.mappings.legal_entities["US"].subsidiary_id == "1"
    assert config.exceptions.for_class(ErrorClass.mapping_missing).owner == "revops"
    assert config.exceptions.for_class(ErrorClass.upstream_unavailable).sla_hours == 4


def test_missing_item_id_names_file_entry_and_problem(config_dir: Path) -> None:
    (config_dir / "mappings.yaml").write_text(
        "products:\n  SEAT: {billing_price_ref: seat_monthly_usd}\n"
        "legal_entities:\n  US: {name: X, subsidiary_id: '1', currency: USD, billing_account: default}\n"
    )
    message = _error(config_dir)
    assert "mappings.yaml" in message
    assert "products.SEAT.erp_item_id" in message
    assert "Field required" in message


def test_bad_currency_names_the_legal_entity(config_dir: Path) -> None:
    text = (config_dir / "mappings.yaml").read_text().replace("currency: USD", "currency: usd")
    (config_dir / "mappings.yaml").write_text(text)
    message = _error(config_dir)
    assert "legal_entities.US.currency" in message and "pattern" in message


def test_billing_account_spanning_two_subsidiaries_is_refused(config_dir: Path) -> None:
    with (config_dir / "mappings.yaml").open("a") as f:
        f.write("  GB: {name: Revbridge Ltd, subsidiary_id: '2', currency: GBP, billing_account: default}\n")
    message = _error(config_dir)
    assert "mappings.yaml" in message
    assert "legal_entities.GB.billing_account" in message
    assert "two subsidiaries" in message


def test_unknown_error_class_and_missing_fallback_are_refused(config_dir: Path) -> None:
    (config_dir / "exceptions.yaml").write_text("classes:\n  typo_class: {owner: revops, sla_hours: 1}\n")
    message = _error(config_dir)
    assert "exceptions.yaml" in message and "classes.typo_class" in message

    (config_dir / "exceptions.yaml").write_text("classes:\n  validation: {owner: revops, sla_hours: 0}\n")
    message = _error(config_dir)
    assert "classes.validation.sla_hours" in message

    (config_dir / "exceptions.yaml").write_text("classes:\n  validation: {owner: revops, sla_hours: 2}\n")
    assert "classes.unknown: missing" in _error(config_dir)


def test_unparseable_yaml_names_the_file(config_dir: Path) -> None:
    (config_dir / "mappings.yaml").write_text("products: [unclosed\n")
    message = _error(config_dir)
    assert "mappings.yaml" in message and "not valid YAML" in message
