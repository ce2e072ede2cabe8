"""Let ``ansible-test`` bootstrap pip in its virtualenvs without reaching ci-files.testing.ansible.com.

Run it with the Python of the virtualenv that holds ansible-core (``.venv/bin/python``).

Why: every ``ansible-test sanity --venv`` environment is created without pip and then bootstrapped
by ``ansible_test/_util/target/setup/requirements.py:bootstrap()``. That function runs a
``get-pip.py`` script it downloads from ci-files.testing.ansible.com, unless a cached copy exists at
``~/.ansible/test/cache/get_pip_<pip version with _>.py``. It executes the cached file with
``runpy.run_module`` (see ``quiet_pip.py``: the file's directory goes on ``sys.path``) and passes
``--disable-pip-version-check pip==<version> --no-setuptools --no-wheel`` as its arguments, inside
the new virtualenv's interpreter.

This script writes that cached file. The file it writes is not the upstream get-pip.py: it puts a
pip wheel (fetched with ``pip download`` from the package index, which is reachable) on
``sys.path`` -- pip runs from a wheel, which pip documents -- and installs the requested packages
from that local wheel directory only (``--no-index``). Each wheel's sha256 is pinned here
(``PINNED_SHA256``, the digests PyPI publishes for those files): a download or a cached wheel
that does not match is refused, and the written script checks the pip wheel against the same pin
every time it runs. A package ansible-test asks for that has no pin here is refused before
anything is downloaded: pin it first (``pip download`` the wheel, compare its ``sha256sum``
with the digest PyPI lists for that file).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import types
from pathlib import Path

CACHE_DIR = Path("~/.ansible/test/cache").expanduser()
WHEEL_DIR = CACHE_DIR / "keyless-bootstrap-wheels"
# The wheels ansible-test's bootstrap installs: pip 24.2 for ansible-core 2.19 (Python 3.11),
# pip 25.2 for 2.21 (Python 3.12). The sha256 of each file as PyPI lists it.
PINNED_SHA256 = {
    "pip-24.2-py3-none-any.whl": "2cd581cf58ab7fcfca4ce8efa6dcacd0de5bf8d0a3eb9ec927e07405f4d9e2a2",
    "pip-25.2-py3-none-any.whl": "6d67a2b4e7f14d8b31b8b52648866fa717f45a1eb70e83002f4331d07e953717",
}

# The script ansible-test will run. Kept free of f-string braces: filled in with str.format().
GET_PIP_TEMPLATE = '''\
"""pip bootstrap for ansible-test, written by keyless.aws hack/ansible_test_bootstrap.py.

Installs {packages} from {wheel_dir} without any network access.
"""
import hashlib
import os
import sys

WHEEL_DIR = {wheel_dir!r}
PIP_WHEEL = os.path.join(WHEEL_DIR, {pip_wheel!r})
SHA256 = {sha256!r}
# Options of the upstream get-pip.py that plain `pip install` does not know.
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    with open(PIP_WHEEL, "rb") as wheel:
        digest = hashlib.sha256(wheel.read()).hexdigest()
    if digest != SHA256:
        sys.exit("pip bootstrap: %s has sha256 %s, expected %s" % (PIP_WHEEL, digest, SHA256))
    sys.path.insert(0, PIP_WHEEL)
    from pip._internal.cli.main import main as pip_main

    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    sys.exit(pip_main(["install", "--no-index", "--find-links", WHEEL_DIR] + args))


if __name__ == "__main__":
    main()
'''


def bootstrap_packages(python_version: str) -> dict[str, str]:
    """Return the packages (name -> version) ansible-test bootstraps into a venv of that Python."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(types.SimpleNamespace(version=python_version))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel_name(name: str, version: str) -> str:
    """The pure-Python wheel ansible-test's bootstrap installs (pip has no other kind)."""
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def pinned_sha256(wheel: str) -> str:
    try:
        return PINNED_SHA256[wheel]
    except KeyError:
        raise SystemExit(
            f"ansible-test bootstrap: no pinned sha256 for {wheel} in PINNED_SHA256 of {__file__}: "
            "pin the digest PyPI lists for that file before it is downloaded"
        ) from None


def check_wheel(path: Path) -> str:
    """The wheel's pinned sha256; a file with another digest is removed and refused."""
    expected = pinned_sha256(path.name)
    actual = sha256(path)
    if actual != expected:
        path.unlink()
        raise SystemExit(
            f"ansible-test bootstrap: {path} has sha256 {actual}, expected {expected} (PINNED_SHA256): "
            "refused and removed"
        )
    return expected


def fetch_wheels(packages: dict[str, str]) -> None:
    """Download one wheel per pinned package into WHEEL_DIR unless it is already there."""
    for name, version in packages.items():
        pinned_sha256(wheel_name(name, version))  # no download of anything unpinned
    missing = [
        f"{name}=={version}"
        for name, version in packages.items()
        if not (WHEEL_DIR / wheel_name(name, version)).exists()
    ]
    if missing:
        print(f"ansible-test bootstrap: downloading {', '.join(missing)}", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-qq",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(WHEEL_DIR),
                *missing,
            ],
            check=True,
        )


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def write_get_pip(python_version: str) -> Path:
    packages = bootstrap_packages(python_version)
    WHEEL_DIR.mkdir(parents=True, exist_ok=True)
    fetch_wheels(packages)
    digests = {name: check_wheel(WHEEL_DIR / wheel_name(name, version)) for name, version in packages.items()}
    pip_version = packages["pip"]
    pip_wheel = WHEEL_DIR / wheel_name("pip", pip_version)
    script = CACHE_DIR / f"get_pip_{pip_version.replace('.', '_')}.py"
    text = GET_PIP_TEMPLATE.format(
        packages=", ".join(f"{name}=={version}" for name, version in packages.items()),
        wheel_dir=str(WHEEL_DIR),
        pip_wheel=pip_wheel.name,
        sha256=digests["pip"],
    )
    if write_if_changed(script, text):
        print(f"ansible-test bootstrap: wrote {script} (pip {pip_version})", flush=True)
    return script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python",
        action="append",
        dest="versions",
        metavar="X.Y",
        help="Python version ansible-test will create venvs for (repeatable; default: this one)",
    )
    args = parser.parse_args()
    for version in args.versions or [f"{sys.version_info[0]}.{sys.version_info[1]}"]:
        write_get_pip(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
