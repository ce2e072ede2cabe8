"""The awscli role's pip method installs from a hashed lock when given one, and refuses a file that differs.

``awscli_pip_requirements`` (the collection's requirements/awscli.txt in the sandbox and the tests)
is installed with ``--require-hashes``: every file pip downloads is checked against the sha256
locked for it, so what the index serves later cannot differ from what was locked. That the
lock installs and converges is the molecule pip scenario's (roles/awscli/molecule/pip, which
installs from it and checks the copy in the virtualenv); here, that a differing file is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from awscli_support import REPO, playbook

LOCK = REPO / "requirements" / "awscli.txt"


def pip_vars(root: Path, requirements: Path) -> dict[str, str]:
    return {"awscli_install_method": "pip", "awscli_root": str(root), "awscli_become": "false",
            "awscli_region": "eu-west-1", "awscli_pip_requirements": str(requirements)}


def test_a_file_that_differs_from_its_lock_is_refused(tmp_path: Path) -> None:
    # The same lock with awscli's hashes replaced: the file the index serves no longer matches.
    lines = LOCK.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("awscli=="))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    --hash="))
    tampered = [*lines[: start + 1], f"    --hash=sha256:{'0' * 64}", *lines[end:]]
    requirements = tmp_path / "tampered.txt"
    requirements.write_text("\n".join(tampered) + "\n")
    root = tmp_path / "root"

    result = playbook(tmp_path, **pip_vars(root, requirements))

    assert result.rc != 0, str(result)
    assert re.search(r"DO NOT MATCH THE HASHES", result.output), str(result)
    assert not (root / "usr" / "local" / "bin" / "aws").exists()
    assert not (root / "opt" / "awscli-venv" / "bin" / "aws").exists()
