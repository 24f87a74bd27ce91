"""pytest plugin: record what the sandboxes answer during the session, validate it at the end.

Registered by ``tests/conftest.py``. The session's record directory is
``.tmp/conformance/<pid>``; it is removed after a clean check and kept (path printed) when a body
departs from its schema, which fails the session.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from revbridge_sandboxes.recording import ENV

from ..procs import SANDBOXES_STARTED
from . import Report, check

ROOT = Path(__file__).resolve().parents[3]
_report_key = pytest.StashKey[Report]()
_dir_key = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(ENV):  # a caller chose the directory (a bench or a chaos run): leave it be
        return
    directory = ROOT / ".tmp" / "conformance" / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
    os.environ[ENV] = str(directory)
    config.stash[_dir_key] = directory


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = session.config.stash.get(_dir_key, None)
    if directory is None:
        return  # recording was directed elsewhere
    report = check(directory) if directory.is_dir() else Report()
    if SANDBOXES_STARTED and not report.validated and not report.violations:
        report.violations.append("sandboxes ran but recorded nothing: the recorder is broken")
    if not report.validated and not report.violations:
        return  # no sandbox ran (unit tests)
    session.config.stash[_report_key] = report
    if report.violations:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(directory, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(_report_key, None)
    if report is None:
        return
    terminalreporter.section("schema conformance of the sandboxes' answers")
    for line in report.lines():
        terminalreporter.write_line(line)
    if report.violations:
        terminalreporter.write_line(f"recorded bodies kept in {config.stash[_dir_key]}")
