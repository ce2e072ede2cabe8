"""Fixtures for integration tests: one recording AWS server per session, real playbook runs."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import AwsServer, PlaybookRunner, start_server


@pytest.fixture(scope="session")
def aws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsServer]:
    """The local AWS stand-in, started once per session (per xdist worker) and always stopped."""
    server = start_server(tmp_path_factory.mktemp("aws_server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(aws_server: AwsServer) -> AwsServer:
    """The server with no resources and no recorded calls."""
    aws_server.reset()
    return aws_server


@pytest.fixture
def run_playbook(aws: AwsServer, tmp_path) -> PlaybookRunner:
    """``run_playbook(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None)``."""
    return PlaybookRunner(endpoint=aws.endpoint, workdir=tmp_path / "ansible")
