"""One sandbox for the whole end-to-end module: the flow tests build on each other's state.

A module that sets ``LAB = True`` gets its instance on the lab (sandbox/lab.py): a Debian
userland reached over SSH as its non-root login user, as the flow reaches EC2. A module that
sets ``CONTROLLER_POLICY`` (a policy document) runs its playbooks as an IAM user that has
exactly that policy, authorized as AWS would (sandbox/authorize.py).
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
    policy = getattr(request.module, "CONTROLLER_POLICY", None)
    bad_day = request.config.getoption("--bad-day")
    root = tmp_path_factory.mktemp("sandbox")
    with Sandbox(root, bad_day=bad_day, lab=lab, controller_policy=policy) as box:
        yield box
        if bad_day_report is not None:
            awscalls.save_bad_day(box.endpoint, bad_day_report, f"e2e:{request.module.__name__}")
