"""Make the checkout importable as ``ansible_collections.keyless.aws``.

The collection lives at the repository root; Python needs it under
``<root>/ansible_collections/keyless/aws``. A relative symlink under ``.build/`` does that
without copying, for the unit and integration tests alike.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO / ".build" / "collections"


def _ensure_collection_link() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "keyless" / "aws"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../../.."), target_is_directory=True)
    if str(COLLECTIONS_ROOT) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS_ROOT))


_ensure_collection_link()
