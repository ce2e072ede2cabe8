"""Copy the collection's files to ``.build/sanity/ansible_collections/keyless/aws`` for ansible-test.

ansible-test insists on running from ``.../ansible_collections/<namespace>/<name>`` and takes the
directory from ``os.getcwd()``, which the kernel reports with symlinks resolved: ``cd`` through the
``.build/collections`` symlink still lands in the checkout, so it needs a real copy.

ansible-test lists the files to test through the nearest enclosing git repository (it walks up
from the collection directory looking for ``.git``). Left alone it would find the checkout's own
repository, in which ``.build/`` is ignored, and skip every target. The copy therefore gets an
empty repository of its own: every copied file is "untracked, not ignored", which
``git ls-files --others --exclude-standard`` reports, so ansible-test sees exactly the copy.

The copy holds what git would commit: tracked files plus untracked files that are not ignored
(so work in progress is checked too), minus files deleted in the work tree. It is rebuilt from
scratch on every run, so a removed file never lingers. Prints the path of the copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEST = REPO / ".build" / "sanity" / "ansible_collections" / "keyless" / "aws"


def collection_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    names = sorted({name for name in out.decode().split("\0") if name})
    return [name for name in names if (REPO / name).is_symlink() or (REPO / name).is_file()]


def main() -> int:
    if DEST.exists():
        shutil.rmtree(DEST)
    files = collection_files()
    for name in files:
        target = DEST / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target, follow_symlinks=False)
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(DEST)], check=True)
    print(DEST)
    print(f"sanity tree: {len(files)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
