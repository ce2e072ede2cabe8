"""What the end-to-end modules share: running the playbooks on a sandbox with extra variables."""

from __future__ import annotations

import json
from pathlib import Path

from demo import run_playbook

from sandbox import Sandbox

HOST = "keyless-logs-writer"


def site(sandbox: Sandbox, tmp_path: Path, verbosity: int = 0, **overrides: object) -> tuple[int, str]:
    return play(sandbox, "site.yml", tmp_path, verbosity, **overrides)


def play(
    sandbox: Sandbox, playbook: str, tmp_path: Path, verbosity: int = 0, **overrides: object
) -> tuple[int, str]:
    """Run one of the collection's playbooks with the sandbox's variables and these overrides."""
    vars_file = tmp_path / f"{Path(playbook).stem}-vars.json"
    vars_file.write_text(json.dumps({**sandbox.extra_vars(), **overrides}))
    return run_playbook(sandbox, playbook, vars_file, verbosity, echo=False)
