"""bench/anchor.py: the ansible wheel amazon.aws comes from must have the pinned sha256."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import anchor  # noqa: E402

WHEEL = f"ansible-{anchor.ANSIBLE_VERSION}-py3-none-any.whl"
# getattr: before the pin, anchor.py had none (and extracted whatever pip had downloaded).
PIN = getattr(anchor, "ANSIBLE_WHEEL_SHA256", "(no pin)")
MANIFEST = {"collection_info": {"namespace": "amazon", "name": "aws", "version": "10.1.2"}}


def fake_wheel(path: Path, version: str = "10.1.2") -> str:
    """A wheel holding an amazon.aws tree, as the real one does; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {"collection_info": {**MANIFEST["collection_info"], "version": version}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{anchor.PREFIX}MANIFEST.json", json.dumps(manifest))
        archive.writestr(f"{anchor.PREFIX}plugins/modules/s3_object.py", "# amazon.aws\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(command: list[str], **kwargs: object) -> None:
        raise AssertionError(f"downloaded: {command}")

    monkeypatch.setattr(anchor.subprocess, "run", refuse)


@pytest.mark.usefixtures("no_download")
def test_a_cached_wheel_with_another_digest_is_refused_before_extraction(tmp_path: Path):
    wheel = tmp_path / "downloads" / WHEEL
    digest = fake_wheel(wheel, version="6.6.6")
    with pytest.raises(RuntimeError, match=f"has sha256 {digest}, expected {PIN}"):
        anchor.ensure_amazon_aws(tmp_path)
    assert not wheel.exists()
    assert not anchor.collection_dir(tmp_path / "collections").exists()


def test_a_downloaded_wheel_with_another_digest_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def download(command: list[str], **kwargs: object) -> None:
        assert command[-1] == f"ansible=={anchor.ANSIBLE_VERSION}"
        fake_wheel(tmp_path / "downloads" / WHEEL)

    monkeypatch.setattr(anchor.subprocess, "run", download)
    with pytest.raises(RuntimeError, match=f"expected {PIN}"):
        anchor.ensure_amazon_aws(tmp_path)
    assert not anchor.collection_dir(tmp_path / "collections").exists()


@pytest.mark.usefixtures("no_download")
def test_the_wheel_with_the_pinned_digest_is_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    digest = fake_wheel(tmp_path / "downloads" / WHEEL)
    monkeypatch.setattr(anchor, "ANSIBLE_WHEEL_SHA256", digest, raising=False)
    collections = anchor.ensure_amazon_aws(tmp_path)
    assert anchor.collection_version(collections) == "10.1.2"


def test_the_pin_is_a_sha256_digest():
    assert len(PIN) == 64
    assert int(PIN, 16) >= 0
