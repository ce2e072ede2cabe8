"""The awscli role's bundle method verifies the installer with sha256 or stronger, and nothing else.

md5 and sha1 are broken for this purpose, a digest without its algorithm is ambiguous, and a
checksum URL (which ansible.builtin.get_url accepts) is trusted as first downloaded. Each of them
is refused before anything is downloaded, even when it matches the file: here every weak checksum
is the right one for the served bundle, so a role that let it through would install.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from awscli_support import playbook
from fake_bundle import http_server, make_bundle

VERSION = "2.99.0"
RULE = "awscli_bundle_checksum must be a sha256, sha384 or sha512 digest"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes, str]]:
    """(bundle URL, bundle bytes, base URL): a fake bundle and its sha256sum file on 127.0.0.1."""
    directory = tmp_path_factory.mktemp("bundle")
    name, sha256 = make_bundle(directory, VERSION)
    (directory / f"{name}.sha256").write_text(f"{sha256}  {name}\n")
    with http_server(directory) as base_url:
        yield f"{base_url}/{name}", (directory / name).read_bytes(), base_url


def bundle_vars(root: Path, url: str, checksum: str) -> dict[str, str]:
    return {"awscli_install_method": "bundle", "awscli_root": str(root), "awscli_region": "eu-west-1",
            "awscli_become": "false", "awscli_bundle_version": VERSION, "awscli_bundle_url": url,
            "awscli_bundle_checksum": checksum}


def digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


WEAK = {
    "md5": lambda data, url: f"md5:{digest('md5', data)}",
    "sha1": lambda data, url: f"sha1:{digest('sha1', data)}",
    "sha224": lambda data, url: f"sha224:{digest('sha224', data)}",
    "bare-sha256": lambda data, url: digest("sha256", data),
    "short-sha256": lambda data, url: f"sha256:{digest('sha256', data)[:40]}",
    "checksum-url": lambda data, url: f"sha256:{url}.sha256",
}


@pytest.mark.parametrize("kind", list(WEAK))
def test_a_weak_or_unpinned_checksum_is_refused_before_any_download(
    tmp_path: Path, served: tuple[str, bytes, str], kind: str
) -> None:
    url, data = served[:2]
    root = tmp_path / "root"
    checksum = WEAK[kind](data, url)

    result = playbook(tmp_path, **bundle_vars(root, url, checksum))

    assert result.rc != 0, str(result)
    assert RULE in result.output, str(result)
    assert f"got '{checksum}'" in result.output, str(result)
    assert "TASK [keyless.aws.awscli : Download the installer" not in result.output, str(result)
    assert result.recap()["changed"] == 0
    assert not root.exists()


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_a_stronger_digest_than_sha256_installs(
    tmp_path: Path, served: tuple[str, bytes, str], algorithm: str
) -> None:
    url, data = served[:2]
    root = tmp_path / "root"

    result = playbook(tmp_path, **bundle_vars(root, url, f"{algorithm}:{digest(algorithm, data)}"))

    assert result.rc == 0, str(result)
    assert result.task_status("Run the installer") == "changed", str(result)
    assert (root / "usr/local/bin/aws").is_symlink()
