"""Make the checkout importable as ``ansible_collections.keyless.aws``, and the sandbox too.

The collection lives at the repository root; Python needs it under
``<root>/ansible_collections/keyless/aws``. A relative symlink under ``.build/`` does that
without copying, for the unit and integration tests alike.

``sandbox/`` is a directory of scripts (stdlib support modules such as ``launcher``,
``awscalls`` and ``recap``, and the ``Sandbox`` itself): every suite imports them by name.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

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

# Every AWS client of the test process (fixtures, checks of AWS state) says so in its User-Agent
# (botocore's app/ID). The AWS server's bad-day layer lets it meet a kind AWS: the faults are for
# the software under test, which runs in child processes whose environment drops AWS_* settings.
from bad_day import HARNESS_APP_ID  # noqa: E402

os.environ["AWS_SDK_UA_APP_ID"] = HARNESS_APP_ID


# --- AWS on a bad day (sandbox/bad_day.py) ------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keyless", "keyless.aws sandbox")
    group.addoption(
        "--bad-day",
        default="off",
        help="the AWS server's bad-day spec for integration and e2e tests: off (default), realistic, "
        "or name=value items (sandbox/bad_day.py); a test's @pytest.mark.bad_day(SPEC) overrides it",
    )
    group.addoption(
        "--bad-day-report",
        default="",
        help="write the faults each AWS server injected to PREFIX-<xdist worker>.json",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bad_day(spec): run the test with this bad-day spec on the AWS server (e.g. 'off' where the "
        "test counts calls exactly, 'throttle=3,throttle-burst=2' for a storm)",
    )


@pytest.fixture(scope="session")
def bad_day_report(request: pytest.FixtureRequest) -> Path | None:
    """Where this worker's AWS servers add the faults they injected (None: not asked for)."""
    prefix = request.config.getoption("--bad-day-report")
    return Path(f"{prefix}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json") if prefix else None
