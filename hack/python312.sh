#!/usr/bin/env bash
# Print the path of a working Python 3.12 interpreter, or nothing when there is none.
#
# `python3.12` on PATH may be a pyenv shim that refuses to run unless a 3.12 version is selected,
# so try pyenv's own install, then the shim with PYENV_VERSION set, then a plain python3.12. The
# real executable (sys.executable) is printed so the virtualenv never goes through the shim.
set -uo pipefail

want=${PY312_VERSION:-3.12.1}
probe() { "$@" -c 'import sys; assert sys.version_info[:2] == (3, 12); print(sys.executable)' 2>/dev/null; }

if command -v pyenv >/dev/null 2>&1 && probe "$(pyenv root)/versions/$want/bin/python3"; then
    exit 0
fi
probe env PYENV_VERSION="$want" python3.12 || probe python3.12 || true
