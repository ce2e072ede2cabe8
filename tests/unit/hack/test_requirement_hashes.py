"""Every requirements file our targets install pins each package with its sha256 hashes, and the
Makefile installs them with --require-hashes (issue 16, item 5: nothing trusted on first use)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# What `make venv`, `make venv-py312`, `make bench`, `make mutation` and `make lock` install.
INSTALLED = ("dev-py311.txt", "dev-py312.txt", "bench.txt", "mutation.txt", "lock-tools.txt")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")
HASH = re.compile(r"^    --hash=sha256:[0-9a-f]{64}( \\)?$")


def pins_and_hashes(text: str) -> dict[str, int]:
    """{package: number of sha256 hashes}; fails on a pin without any, or a stray line."""
    counts: dict[str, int] = {}
    current = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            current = None
            continue
        if match := PIN.match(line):
            current = match.group(1)
            counts[current] = 0
        elif HASH.match(line) and current is not None:
            counts[current] += 1
        else:
            raise AssertionError(f"neither a hashed pin nor one of its hashes: {line!r}")
    return counts


@pytest.mark.parametrize("name", INSTALLED)
def test_every_pin_carries_sha256_hashes(name: str):
    counts = pins_and_hashes((REPO / "requirements" / name).read_text())
    assert counts, f"{name} pins nothing"
    assert [package for package, hashes in counts.items() if hashes == 0] == []


def test_the_parser_refuses_a_pin_without_hashes():
    with pytest.raises(AssertionError, match="neither a hashed pin"):
        pins_and_hashes("boto3==1.44.8\n")
    assert pins_and_hashes("boto3==1.44.8 \\\n    --hash=sha256:" + "a" * 64 + "\n") == {"boto3": 1}


def test_the_makefile_installs_every_requirements_file_with_require_hashes():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^REQUIRE_HASHES := --require-hashes$", makefile, re.MULTILINE)
    installs = [line for line in makefile.splitlines() if re.search(r"PIP_INSTALL\w*\)? .*-r ", line)]
    assert len(installs) == 3, installs  # build_venv (both venvs), bench, mutation
    assert all("$(REQUIRE_HASHES) -r " in line for line in installs), installs


def test_the_lock_scripts_install_their_tools_with_require_hashes():
    script = (REPO / "hack" / "hash_requirements.sh").read_text()
    assert '--require-hashes \\\n    -r "$repo/requirements/lock-tools.txt"' in script
    assert "--generate-hashes" in script
