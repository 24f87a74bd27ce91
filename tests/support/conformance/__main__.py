"""``python -m tests.support.conformance DIR``: check a directory of recorded bodies by hand."""

import sys
from pathlib import Path

from . import check

result = check(Path(sys.argv[1]))
print("\n".join(result.lines()))
sys.exit(1 if result.violations else 0)
