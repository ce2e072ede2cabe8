"""bench/measure.py: what a measured ansible-playbook run inherits from the shell."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

from measure import Runner  # noqa: E402


def test_a_shell_cannot_switch_the_fast_path_subject_to_the_module_path(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYLESS_AWS_FAST_PATH", "0")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", "/somewhere/else")
    env = Runner(endpoint="http://127.0.0.1:1", workdir=tmp_path, collections_path="/bench/collections").env()
    assert "KEYLESS_AWS_FAST_PATH" not in env
    assert "AWS_PROFILE" not in env
    assert env["ANSIBLE_COLLECTIONS_PATH"] == "/bench/collections"
