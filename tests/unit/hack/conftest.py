"""``hack/`` is a directory of scripts: its tests import them by name, as the sandbox's are."""

from __future__ import annotations

import sys
from pathlib import Path

HACK = Path(__file__).resolve().parents[3] / "hack"
if str(HACK) not in sys.path:
    sys.path.insert(0, str(HACK))
