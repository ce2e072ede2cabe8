"""Make the checkout importable as ``ansible_collections.keyless.aws``, and the sandbox too.

The collection lives at the repository root; Python needs it under
``<root>/ansible_collections/keyless/aws``. A relative symlink under ``.build/`` does that
without copying, for the unit and integration tests alike.

``sandbox/`` is a directory of scripts (stdlib support modules such as ``launcher``,
``awscalls`` and ``recap``, and the ``Sandbox`` itself): every suite imports them by name.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO / ".build" / "collections"
SANDBOX = REPO / "sandbox"


def _ensure_collection_link() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "keyless" / "aws"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../../.."), target_is_directory=True)
    if str(COLLECTIONS_ROOT) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS_ROOT))
    if str(SANDBOX) not in sys.path:
        sys.path.insert(0, str(SANDBOX))


_ensure_collection_link()
