"""Salesforce id checksums: adapters compare and store 18-char ids, so the sandbox must mint real ones."""

from __future__ import annotations

import pytest
from revbridge_sandboxes.salesforce import ids

pytestmark = pytest.mark.unit


def test_known_15_char_id_gets_documented_checksum() -> None:
    assert ids.to18("00558000001N0Ke") == "00558000001N0KeAAK"


def test_normalize_accepts_15_and_18_char_forms_and_repairs_case() -> None:
    assert ids.normalize("00558000001N0Ke") == "00558000001N0KeAAK"
    assert ids.normalize("00558000001N0KeAAK") == "00558000001N0KeAAK"
    assert ids.normalize("00558000001n0keaak") == "00558000001N0KeAAK"


@pytest.mark.parametrize("bad", ["", "001", "00558000001N0K!", "00558000001N0KeAA", "00558000001N0Ke999"])
def test_normalize_rejects_malformed_ids(bad: str) -> None:
    assert ids.normalize(bad) is None


def test_factory_ids_carry_prefix_valid_checksum_and_sort_by_creation() -> None:
    factory = ids.IdFactory()
    minted = [factory.new("800") for _ in range(100)]
    assert all(len(i) == 18 and i.startswith("800") for i in minted)
    assert all(ids.to18(i[:15]) == i for i in minted)
    assert minted == sorted(minted)
