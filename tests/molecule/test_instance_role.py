"""keyless.aws.instance through molecule (prepare, converge, idempotence, verify) against moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from awscli_support import BIN_DIR, REPO, isolated_env, run
from launcher import start_aws_server

ROLE_DIR = REPO / "roles" / "instance"


@pytest.fixture
def aws_endpoint(tmp_path: Path) -> Iterator[str]:
    service = start_aws_server(tmp_path / "aws", preload="iam,ec2")
    try:
        yield service.url
    finally:
        service.stop()


def test_molecule_moto_scenario(tmp_path: Path, aws_endpoint: str) -> None:
    env = isolated_env(tmp_path)
    env.update(
        KEYLESS_TEST_AWS_ENDPOINT=aws_endpoint,
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="molecule-test-secret",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    result = run([str(BIN_DIR / "molecule"), "test", "-s", "moto"], env, ROLE_DIR)
    assert result.rc == 0, result
    assert "idempotence] Executed: Successful" in result.output
    assert "verify] Executed: Successful" in result.output
    print(f"molecule test -s moto: {result.seconds:.1f} s")
