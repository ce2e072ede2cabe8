"""The comparison collection, amazon.aws, taken from the ``ansible`` package on PyPI.

Galaxy cannot be reached from here, but the ``ansible`` wheel bundles amazon.aws. The wheel is
fetched once with ``pip download --no-deps`` and only ``ansible_collections/amazon/aws/**`` is
extracted into a cache outside the tracked files; nothing is installed into the venv. The wheel
must have the sha256 pinned here (``ANSIBLE_WHEEL_SHA256``, the digest PyPI lists for the file),
whether just downloaded or found in the cache: another file is removed and refused before
anything is extracted from it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

# ansible 12.x pairs with ansible-core 2.19 (13.x needs 2.20, hence Python >= 3.12). 12.3.0
# bundles amazon.aws 10.1.2, whose meta/runtime.yml says requires_ansible ">=2.17.0".
ANSIBLE_VERSION = "12.3.0"
ANSIBLE_WHEEL_SHA256 = "cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414"
PREFIX = "ansible_collections/amazon/aws/"
SOURCE_FILE = "amazon-aws.source.json"


def collection_dir(collections: Path) -> Path:
    return collections / "ansible_collections" / "amazon" / "aws"


def collection_version(collections: Path) -> str:
    manifest = json.loads((collection_dir(collections) / "MANIFEST.json").read_text())
    return str(manifest["collection_info"]["version"])


def ensure_amazon_aws(cache: Path) -> Path:
    """The collections directory holding amazon.aws; downloads and extracts it on first use."""
    collections = cache / "collections"
    if _cached_source(collections) == ANSIBLE_VERSION:
        return collections
    wheel = _download_wheel(cache / "downloads")
    check_digest(wheel, ANSIBLE_WHEEL_SHA256)
    _extract(wheel, collections)
    (collections / SOURCE_FILE).write_text(json.dumps({"ansible": ANSIBLE_VERSION, "wheel": wheel.name}))
    return collections


def _cached_source(collections: Path) -> str | None:
    source = collections / SOURCE_FILE
    if not source.exists() or not (collection_dir(collections) / "MANIFEST.json").exists():
        return None
    return str(json.loads(source.read_text()).get("ansible"))


def check_digest(path: Path, expected: str) -> None:
    """Refuse (and remove) a file whose sha256 is not the pinned one."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        path.unlink()
        raise RuntimeError(
            f"{path} has sha256 {digest.hexdigest()}, expected {expected} (pinned in bench/anchor.py): "
            "refused and removed"
        )


def _download_wheel(downloads: Path) -> Path:
    wheel = downloads / f"ansible-{ANSIBLE_VERSION}-py3-none-any.whl"
    if wheel.exists():
        return wheel
    print(f"fetching ansible=={ANSIBLE_VERSION} from PyPI (once, about 55 MB) for amazon.aws", flush=True)
    downloads.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(downloads),
        f"ansible=={ANSIBLE_VERSION}",
    ]
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    if not wheel.exists():
        raise RuntimeError(f"pip download did not produce {wheel}")
    return wheel


def _members(archive: zipfile.ZipFile) -> list[str]:
    """The amazon.aws files of the wheel; refuses names that would escape the target."""
    names = [name for name in archive.namelist() if name.startswith(PREFIX) and not name.endswith("/")]
    for name in names:
        if ".." in PurePosixPath(name).parts:
            raise RuntimeError(f"unsafe path in wheel: {name}")
    if not names:
        raise RuntimeError(f"the wheel holds no {PREFIX} tree")
    return names


def _extract(wheel: Path, collections: Path) -> None:
    """Extract into a scratch directory first, so an interrupted run leaves no partial tree."""
    collections.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=collections, prefix=".extract-") as scratch:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(scratch, members=_members(archive))
        target = collection_dir(collections)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        (Path(scratch) / PREFIX).replace(target)
