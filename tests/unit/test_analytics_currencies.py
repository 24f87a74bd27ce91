"""The analytics views' major units (migration 0004) use the same ISO 4217 exponents as the system
API's money conversion: a currency added to one list and not the other would report it 100x off."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from revbridge_system import money

MIGRATION = Path(__file__).resolve().parents[2] / "db/src/revbridge_db/migrations/versions/0004_analytics.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("analytics_0004", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sql_exponents_are_the_money_modules() -> None:
    m = _migration()
    in_sql = {**dict.fromkeys(m.ZERO_DECIMAL, 0), **dict.fromkeys(m.THREE_DECIMAL, 3)}
    assert in_sql == money._EXPONENTS
    assert "JPY" in m.ZERO_DECIMAL and "KWD" in m.THREE_DECIMAL
