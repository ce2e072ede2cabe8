"""A fake of AWS's CLI v2 installer bundle, and a loopback HTTP server to serve it (stdlib only).

What AWS's installer does, reduced to what the awscli role relies on: ``aws/install`` with
``-i``/``-b``/``--update``, the ``v2/<version>`` tree with a ``v2/current`` link, and the ``aws``
link in the bin directory; the installed ``aws`` only answers ``--version``. Used by the role's
tests on this host (tests/molecule) and on the lab instance (tests/e2e), so that nothing is
downloaded from AWS.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

_INSTALL_SCRIPT = """\
#!/bin/sh
set -eu
install_dir=/usr/local/aws-cli
bin_dir=/usr/local/bin
update=no
while [ $# -gt 0 ]; do
  case "$1" in
    -i|--install-dir) install_dir=$2; shift 2 ;;
    -b|--bin-dir) bin_dir=$2; shift 2 ;;
    -u|--update) update=yes; shift ;;
    *) echo "install: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -e "$install_dir/v2/current" ] && [ "$update" = no ]; then
  echo "Found preexisting AWS CLI installation: $install_dir/v2/current. Rerun with --update." >&2
  exit 1
fi
mkdir -p "$install_dir/v2/{version}/bin" "$bin_dir"
printf '#!/bin/sh\\necho "aws-cli/{version} Python/3 Linux/x"\\n' > "$install_dir/v2/{version}/bin/aws"
chmod 755 "$install_dir/v2/{version}/bin/aws"
ln -sfn "$install_dir/v2/{version}" "$install_dir/v2/current"
ln -sfn "$install_dir/v2/current/bin/aws" "$bin_dir/aws"
echo "You can now run: $bin_dir/aws --version"
"""


def make_bundle(directory: Path, version: str) -> tuple[str, str]:
    """A zip laid out like AWS's (``aws/install``); returns its file name and sha256."""
    name = f"awscli-exe-linux-x86_64-{version}.zip"
    path = directory / name
    with zipfile.ZipFile(path, "w") as archive:
        folder = zipfile.ZipInfo("aws/")
        folder.external_attr = (stat.S_IFDIR | 0o755) << 16
        archive.writestr(folder, "")
        script = zipfile.ZipInfo("aws/install")
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(script, _INSTALL_SCRIPT.replace("{version}", version))
    return name, hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def http_server(directory: Path, timeout: float = 10.0) -> Iterator[str]:
    """``python -m http.server`` on a free loopback port; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            str(directory),
            str(port),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"http.server did not listen on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
