"""Salesforce record ids: 15-char base-62 bodies with the 3-char case-safe checksum suffix.

Adapters compare, store and echo these ids, so the sandbox must mint ids that look and validate like
the real thing (key prefix per object, checksum per §2.7) and accept both 15- and 18-char forms.
"""

from __future__ import annotations

import itertools
import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[0-9A-Za-z]{15}$")
_ID18 = re.compile(r"^[0-9A-Za-z]{18}$")
# Two fixed characters standing in for the pod/instance part of a real id.
_INSTANCE = "RB"


def checksum(id15: str) -> str:
    """The 3-char suffix: one char per 5-char chunk, bit i set when char i is upper case."""
    out = []
    for k in range(3):
        chunk = id15[5 * k : 5 * k + 5]
        n = sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")
        out.append(_SUFFIX_ALPHABET[n])
    return "".join(out)


def to18(id15: str) -> str:
    """Extend a 15-char id with its checksum."""
    if not _ID15.match(id15):
        raise ValueError(f"not a 15-character Salesforce id: {id15!r}")
    return id15 + checksum(id15)


def normalize(value: str) -> str | None:
    """Canonical 18-char form of a 15- or 18-char id, or None when it is not a valid id.

    An 18-char id is case-insensitive: its suffix tells which body characters are upper case,
    so a lower-cased id is repaired rather than rejected.
    """
    if _ID15.match(value):
        return to18(value)
    if not _ID18.match(value):
        return None
    body, suffix = value[:15], value[15:].upper()
    if any(c not in _SUFFIX_ALPHABET for c in suffix):
        return None
    chars = []
    for k in range(3):
        bits = _SUFFIX_ALPHABET.index(suffix[k])
        for i, c in enumerate(body[5 * k : 5 * k + 5]):
            chars.append(c.upper() if bits & (1 << i) else c.lower() if c.isalpha() else c)
    fixed = "".join(chars)
    return fixed + checksum(fixed) if checksum(fixed) == suffix else None


def key_prefix(record_id: str) -> str:
    return record_id[:3]


def encode62(n: int, width: int) -> str:
    digits = []
    while n:
        n, r = divmod(n, 62)
        digits.append(BASE62[r])
    return "".join(reversed(digits)).rjust(width, "0")


class IdFactory:
    """Mints increasing ids; base-62 digits sort like numbers in ASCII, so ids sort by creation."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)

    def new(self, prefix: str) -> str:
        if len(prefix) != 3:
            raise ValueError(f"key prefix must be 3 characters: {prefix!r}")
        return to18(prefix + _INSTANCE + encode62(next(self._counter), 10))
