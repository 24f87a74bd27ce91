"""The README a newcomer follows: the curl lines it shows are the ones ``make run`` prints (v2
only), every page it links exists, and it stays a quick start (under 200 lines)."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.seed import try_it

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_readme_shows_exactly_the_lines_make_run_prints() -> None:
    printed = try_it("http://127.0.0.1:8000", "800RB000000000AYAQ")
    for line in printed:
        if line.startswith("CONTRACT="):
            assert "CONTRACT=" in README
            continue
        assert line in README, f"make run prints a line the README does not show: {line}"
    curls = [line for line in printed if line.startswith("curl ")]
    assert curls and all("/experience/v2/" in line for line in curls)  # current paths only
    assert "/experience/v1/" not in README


def test_every_page_the_readme_links_exists_and_it_stays_short() -> None:
    links = re.findall(r"\]\(([^)#]+\.md)\)", README)
    assert links
    for link in links:
        assert (ROOT / link).is_file(), link
    assert len(README.splitlines()) < 200
