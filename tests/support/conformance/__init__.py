"""The schema conformance suite: what the sandboxes answered in a test run, checked against the
platforms' published schemas.

Each test session sets ``REVBRIDGE_SANDBOX_RECORD_DIR`` (see ``tests/conftest.py``); every sandbox
started in it appends its JSON answers and webhook bodies there. At the end of the session each
recorded body is validated by the platform's checker and the counts are printed; any body that
departs from its schema fails the session. ``python -m tests.support.conformance DIR`` checks a
directory by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SHOWN = 25
SOURCES = {
    "stripe": "Stripe's OpenAPI spec (2023-09-12) reconciled with stripe-python 16.1",
    "salesforce": "the REST API Developer Guide's resource shapes",
    "netsuite": "the REST API Browser's record shapes",
}  # violations printed in full; the rest are counted


class Checker(Protocol):
    def errors(self, kind: str, method: str, path: str, status: int, body: Any) -> Any: ...


def _checker(platform: str) -> Checker:
    if platform == "stripe":
        from .stripe import StripeSchemas

        return StripeSchemas()
    if platform == "salesforce":
        from .salesforce import SalesforceSchemas

        return SalesforceSchemas()
    from .netsuite import NetSuiteSchemas

    return NetSuiteSchemas()


@dataclass
class Report:
    validated: Counter[str] = field(default_factory=Counter)
    webhooks: Counter[str] = field(default_factory=Counter)
    errors_seen: Counter[str] = field(default_factory=Counter)  # error bodies among the validated
    violations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for platform in sorted(self.validated):
            out.append(
                f"{platform}: {self.validated[platform]} bodies valid against {SOURCES[platform]}"
                f" ({self.errors_seen[platform]} of them error bodies, {self.webhooks[platform]} webhooks)"
            )
        if self.violations:
            out.append(f"{len(self.violations)} departures from the schemas:")
            out.extend(f"  {v}" for v in self.violations[:SHOWN])
        return out


def check(directory: Path) -> Report:
    """Validate every recorded body under ``directory`` (``<platform>-<pid>.jsonl`` files)."""
    report = Report()
    checkers: dict[str, Checker] = {}
    for path in sorted(directory.glob("*.jsonl")):
        platform = path.name.split("-", 1)[0]
        checker = checkers.get(platform) or checkers.setdefault(platform, _checker(platform))
        with path.open(encoding="utf-8") as lines:
            for raw in lines:
                line = json.loads(raw)
                kind, method, where, status, body = (
                    line["kind"],
                    line["method"],
                    line["path"],
                    line["status"],
                    line["body"],
                )
                if kind.endswith("-not-json"):
                    problems = [f"{where}: answered as JSON but the body does not parse"]
                else:
                    problems = list(checker.errors(kind, method, where, status, body))
                if problems:
                    report.violations.append(
                        f"{platform} {method} {where} -> {status}: {problems[0]}"
                        + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
                    )
                    continue
                report.validated[platform] += 1
                report.webhooks[platform] += kind == "webhook"
                report.errors_seen[platform] += status >= 400
    return report
