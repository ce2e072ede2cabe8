"""One sandbox for the whole end-to-end module: the flow tests build on each other's state.

A module that sets ``LAB = True`` gets its instance on the lab (sandbox/lab.py): a Debian
userland reached over SSH as its non-root login user, as the flow reaches EC2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import awscalls
import pytest

from sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, bad_day_report: Path | None
) -> Iterator[Sandbox]:
    """The AWS server runs with ``--bad-day`` (tests/conftest.py) and reports what it injected."""
    lab = getattr(request.module, "LAB", False)
    bad_day = request.config.getoption("--bad-day")
    with Sandbox(tmp_path_factory.mktemp("sandbox"), bad_day=bad_day, lab=lab) as box:
        yield box
        if bad_day_report is not None:
            awscalls.save_bad_day(box.endpoint, bad_day_report, f"e2e:{request.module.__name__}")
