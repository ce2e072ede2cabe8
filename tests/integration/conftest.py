"""Fixtures for integration tests: one recording AWS server per session, real playbook runs."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import awscalls
import pytest
from harness import EXECUTION_PATHS, PlaybookRunner
from launcher import Service, start_aws_server

# Test modules whose every playbook test runs twice, once per execution path. None now: a test
# that asserts a promise both paths must keep is marked @pytest.mark.both_paths (the module path
# takes two to three times as long, and test_fast_path compares the paths case by case).
BOTH_PATHS_MODULES: frozenset[str] = frozenset()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--execution-paths",
        default=",".join(EXECUTION_PATHS),
        help="comma-separated execution paths the both-paths tests run on (default: fast,module). "
        "test_fast_path compares the two paths case by case whatever this says.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_paths: run the test once per execution path (fast, module)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``execution_path`` for the tests that must give the same result both ways."""
    if "run_playbook" not in metafunc.fixturenames:
        return
    if metafunc.module.__name__ in BOTH_PATHS_MODULES or metafunc.definition.get_closest_marker("both_paths"):
        paths = metafunc.config.getoption("--execution-paths").split(",")
        unknown = set(paths) - set(EXECUTION_PATHS)
        if unknown:
            raise pytest.UsageError(f"--execution-paths: unknown {sorted(unknown)}; known {EXECUTION_PATHS}")
        metafunc.parametrize("execution_path", paths)


@pytest.fixture(scope="session")
def aws_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, bad_day_report: Path | None
) -> Iterator[Service]:
    """The local AWS stand-in, started once per session (per xdist worker) and always stopped.

    Not quiet: its log (``aws_server.log`` beside the port file) has a line per request. It runs
    with ``--bad-day`` (tests/conftest.py); what it injected goes to ``--bad-day-report``.
    """
    spec = request.config.getoption("--bad-day")
    server = start_aws_server(tmp_path_factory.mktemp("aws_server"), quiet=False, bad_day=spec)
    try:
        yield server
        if bad_day_report is not None:
            awscalls.save_bad_day(server.url, bad_day_report, "integration")
    finally:
        server.stop()


@pytest.fixture
def aws(request: pytest.FixtureRequest, aws_server: Service) -> Service:
    """The server with no resources and no recorded calls; ``aws.url`` is its endpoint.

    Its bad-day spec is the session's, or the test's ``@pytest.mark.bad_day(SPEC)``, with its
    fault counters (not its totals) started afresh, so where faults fall does not depend on the
    tests before.
    """
    awscalls.reset_all(aws_server.url)
    marker = request.node.get_closest_marker("bad_day")
    awscalls.set_bad_day(aws_server.url, marker.args[0] if marker else request.config.getoption("--bad-day"))
    return aws_server


@pytest.fixture
def execution_path() -> str | None:
    """How keyless.aws modules run: None (the default, fast) unless parametrized as above."""
    return None


@pytest.fixture
def run_playbook(aws: Service, tmp_path, execution_path: str | None) -> PlaybookRunner:
    """``run_playbook(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None)``."""
    return PlaybookRunner(endpoint=aws.url, workdir=tmp_path / "ansible", path=execution_path)
