"""hack/ansible_test_bootstrap.py: the pip wheel is checked against a pinned sha256, not trusted."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import ansible_test_bootstrap as bootstrap
import pytest

WHEEL = "pip-24.2-py3-none-any.whl"
GENUINE = b"the wheel PyPI serves"
PINS = {WHEEL: hashlib.sha256(GENUINE).hexdigest()}
RUN = subprocess.run  # the fixture replaces subprocess.run, which the script calls to download


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache under tmp_path, ansible-core 2.19's packages, PINS, and a pip download that fails."""
    monkeypatch.setattr(bootstrap, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(bootstrap, "WHEEL_DIR", tmp_path / "wheels")
    monkeypatch.setattr(bootstrap, "bootstrap_packages", lambda version: {"pip": "24.2"})
    # raising=False: the script before the pins had no PINNED_SHA256 (and trusted what it fetched).
    monkeypatch.setattr(bootstrap, "PINNED_SHA256", dict(PINS), raising=False)

    def no_download(command: list[str], **kwargs: object) -> None:
        raise AssertionError(f"downloaded: {command}")

    monkeypatch.setattr(bootstrap.subprocess, "run", no_download)
    (tmp_path / "wheels").mkdir()
    return tmp_path


def test_a_cached_wheel_with_another_digest_is_refused_and_removed(cache: Path):
    wheel = cache / "wheels" / WHEEL
    swapped = b"a wheel someone swapped in"
    wheel.write_bytes(swapped)
    refusal = f"has sha256 {hashlib.sha256(swapped).hexdigest()}, expected {PINS[WHEEL]}"
    with pytest.raises(SystemExit, match=refusal):
        bootstrap.write_get_pip("3.11")
    assert not wheel.exists()
    assert not (cache / "get_pip_24_2.py").exists()


def test_a_downloaded_wheel_with_another_digest_is_refused(cache: Path, monkeypatch: pytest.MonkeyPatch):
    def download(command: list[str], **kwargs: object) -> None:
        assert command[-1] == "pip==24.2"
        (cache / "wheels" / WHEEL).write_bytes(b"what a compromised index served")

    monkeypatch.setattr(bootstrap.subprocess, "run", download)
    with pytest.raises(SystemExit, match=f"expected {PINS[WHEEL]}"):
        bootstrap.write_get_pip("3.11")
    assert not (cache / "get_pip_24_2.py").exists()


def test_a_package_without_a_pinned_digest_is_refused_before_any_download(
    cache: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bootstrap, "bootstrap_packages", lambda version: {"pip": "99.0"})
    with pytest.raises(SystemExit, match=r"no pinned sha256 for pip-99\.0-py3-none-any\.whl"):
        bootstrap.write_get_pip("3.13")


def test_the_written_script_checks_the_pinned_digest_when_ansible_test_runs_it(cache: Path):
    wheel = cache / "wheels" / WHEEL
    wheel.write_bytes(GENUINE)
    script = bootstrap.write_get_pip("3.11")
    assert f"SHA256 = {PINS[WHEEL]!r}" in script.read_text()
    wheel.write_bytes(b"swapped after the script was written")
    ran = RUN([sys.executable, str(script), "pip==24.2"], capture_output=True, text=True, check=False)
    assert ran.returncode == 1
    assert f"expected {PINS[WHEEL]}" in ran.stderr


def test_the_pins_are_the_wheels_ansible_test_installs():
    assert set(bootstrap.PINNED_SHA256) == {"pip-24.2-py3-none-any.whl", "pip-25.2-py3-none-any.whl"}
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in bootstrap.PINNED_SHA256.values())
