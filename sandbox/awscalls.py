"""Client side of the control endpoints of ``sandbox/aws_server.py`` (stdlib only).

Tests and the benchmark import this to read, clear and classify the AWS API calls the local
server received, whichever client made them (our modules, amazon.aws, the AWS CLI); the
sandbox, the metadata emulator and the tests to switch moto's authorization enforcement.
"""
from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

CALLS_PATH = "/_keyless/calls"
RESET_CALLS_PATH = "/_keyless/calls/reset"
# The sandbox authorizer's decisions (authorize.py).
AUTHORIZATIONS_PATH = "/_keyless/authorizations"
RESET_AUTHORIZATIONS_PATH = f"{AUTHORIZATIONS_PATH}/reset"
MOTO_RESET_PATH = "/moto-api/reset"
MOTO_RESET_AUTH_PATH = "/moto-api/reset-auth"
BAD_DAY_PATH = "/_keyless/bad-day"

# Operation names that only read. AWS names its read-only actions Get*/List*/Describe*/Head*
# (GetCallerIdentity, GetObject, HeadObject, ListObjectsV2, ...); the few others are listed.
_READ_PREFIX = re.compile(r"^(Get|List|Describe|Head|Lookup|Search|Simulate)(?=[A-Z0-9]|$)")
_READ_OPERATIONS = frozenset({"DecodeAuthorizationMessage", "SelectObjectContent"})
# The recorder names calls it cannot map to an operation "<METHOD> <path>".
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Never route loopback calls through a proxy from the caller's environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def is_mutating(operation: str) -> bool:
    """Whether a recorded operation may change state; unknown names count as mutating."""
    if operation in _READ_OPERATIONS or _READ_PREFIX.match(operation):
        return False
    method = operation.split(" ", 1)[0]
    return not (" " in operation and method in _READ_METHODS)


def mutating_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded calls that may have changed state, in order."""
    return [call for call in calls if is_mutating(call["operation"])]


def operation_counts(calls: list[dict[str, Any]]) -> Counter[str]:
    """How often each ``service:Operation`` appears in ``calls``."""
    return Counter(f"{call['service']}:{call['operation']}" for call in calls)


def _request(
    endpoint: str, path: str, method: str, timeout: float, body: bytes | None = None
) -> bytes:
    headers = {"Content-Type": "text/plain"} if body is not None else {}
    url = f"{endpoint.rstrip('/')}{path}"
    request = urllib.request.Request(url, method=method, data=body, headers=headers)
    with _OPENER.open(request, timeout=timeout) as response:
        return response.read()


def fetch_calls(endpoint: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every call recorded since the last reset, oldest first."""
    return json.loads(_request(endpoint, CALLS_PATH, "GET", timeout))


def fetch_authorizations(endpoint: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The authorizer's decisions (sandbox/authorize.py) since the last reset, oldest first."""
    return json.loads(_request(endpoint, AUTHORIZATIONS_PATH, "GET", timeout))


def reset_calls(endpoint: str, timeout: float = 10.0) -> None:
    """Forget the recorded calls; moto's state is kept."""
    _request(endpoint, RESET_CALLS_PATH, "POST", timeout)


def reset_moto(endpoint: str, timeout: float = 10.0) -> None:
    """Drop every resource moto holds; the recorded calls are kept."""
    _request(endpoint, MOTO_RESET_PATH, "POST", timeout)


def reset_all(endpoint: str, timeout: float = 10.0) -> None:
    """An empty moto and an empty call record, as the server was when it started."""
    reset_moto(endpoint, timeout)
    reset_calls(endpoint, timeout)


def set_enforcement(endpoint: str, on: bool, timeout: float = 10.0) -> None:
    """moto's IAM authorization enforcement on or off.

    moto counts the requests it lets through before it starts checking policies: ``0`` free
    requests left means enforced from now on, ``inf`` means never (moto's default).
    """
    _request(endpoint, MOTO_RESET_AUTH_PATH, "POST", timeout, b"0" if on else b"inf")


def bad_day(endpoint: str, timeout: float = 10.0) -> dict[str, Any]:
    """The server's bad-day spec and the faults it injected so far, by kind."""
    return json.loads(_request(endpoint, BAD_DAY_PATH, "GET", timeout))


def save_bad_day(endpoint: str, report: Path, name: str, timeout: float = 10.0) -> None:
    """Add the faults the server injected, under ``name``, to a JSON report of several servers."""
    saved = json.loads(report.read_text()) if report.exists() else {}
    state = bad_day(endpoint, timeout)
    saved[name] = {"spec": state["spec"], "faults": state["faults"]}
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")


def set_bad_day(endpoint: str, spec: str, timeout: float = 10.0) -> dict[str, Any]:
    """Replace the bad-day spec (``off``, ``realistic``, ``name=value,...``); counters are kept."""
    return json.loads(_request(endpoint, BAD_DAY_PATH, "POST", timeout, spec.encode()))
