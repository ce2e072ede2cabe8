"""AWS on a bad day: a WSGI layer in front of moto that plays documented AWS behaviour moto lacks.

moto answers at once and consistently and accepts what AWS refuses. This layer, off unless the
server is started with ``--bad-day SPEC``, makes the sandbox behave like a real account:

- ``iam-consistency=S``: for S seconds after CreateRole, CreateInstanceProfile and
  AddRoleToInstanceProfile, reads and dependent writes naming that role or profile answer
  NoSuchEntity, and EC2 answers ``InvalidParameterValue ... Invalid IAM Instance Profile name``
  for the profile ("Troubleshooting IAM roles": changes are eventually consistent);
- ``ec2-pending=S``, ``ec2-stopping=S``, ``ec2-shutting-down=S``: an instance stays S seconds in
  pending (after RunInstances/StartInstances), stopping, shutting-down; StopInstances on a pending
  instance and StartInstances on a stopping one answer IncorrectInstanceState, as EC2 does;
- ``throttle=N`` (``throttle-burst=B``): every Nth API call starts B throttled answers
  (Throttling, RequestLimitExceeded, SlowDown), ``server-error=N``: every Nth call a 5xx;
- ``lost-response=N`` (``lost-operations=A+B``): the 1st, N+1st, ... call of the listed mutating
  operations is carried out and its answer dropped (the connection closes); RunInstances'
  ClientToken is honoured as EC2 does ("Ensuring idempotency"): the same token gets the same
  reservation, with other parameters IdempotentParameterMismatch;
- ``refusals=on``: what AWS refuses and moto accepts: tag keys starting with ``aws:`` on tag and
  untag calls, user data that is not valid base64.

SPEC is ``off``, ``realistic`` or comma-separated ``name=value`` items, a profile first to
override it: ``realistic,iam-consistency=5``. ``GET /_keyless/bad-day`` returns the spec and the
number of faults injected of each kind; ``POST /_keyless/bad-day`` with a SPEC body replaces the
spec (the counters and the tracked resources are kept). ``POST /moto-api/reset`` forgets the
tracked resources with moto's.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

BAD_DAY_PATH = "/_keyless/bad-day"
# botocore puts ``app/<AWS_SDK_UA_APP_ID>`` in its User-Agent: the test harness and the metadata
# emulator (AWS's side of an instance) set this one, and meet a kind AWS (``exempt_agent``).
HARNESS_APP_ID = "keyless-harness"
MOTO_RESET_PATH = "/moto-api/reset"
# The recorder's description of the request, when it runs in front of this layer.
CALL_KEY = "keyless.call"

DEFAULT_LOST_OPERATIONS = (
    "CreateRole",
    "CreateInstanceProfile",
    "PutRolePolicy",
    "AttachRolePolicy",
    "TagRole",
    "AddRoleToInstanceProfile",
    "RunInstances",
    "CreateTags",
    "StopInstances",
    "StartInstances",
    "TerminateInstances",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "DeleteRole",
    "DeleteInstanceProfile",
    "RemoveRoleFromInstanceProfile",
)
# Services whose answers this layer can shape (query/XML protocols) and that clients retry.
FAULTED_SERVICES = frozenset({"iam", "sts", "ec2", "s3"})


@dataclass(frozen=True)
class BadDaySpec:
    """Which behaviours are on and their timing; zero is off."""

    iam_consistency: float = 0.0
    ec2_pending: float = 0.0
    ec2_stopping: float = 0.0
    ec2_shutting_down: float = 0.0
    throttle: int = 0
    throttle_burst: int = 1
    server_error: int = 0
    lost_response: int = 0
    lost_operations: tuple[str, ...] = DEFAULT_LOST_OPERATIONS
    refusals: bool = False
    # Requests whose User-Agent has this (botocore's ``app/ID`` from AWS_SDK_UA_APP_ID) set up and
    # check the tests: they meet a kind AWS (refusals still apply); the software under test does not.
    exempt_agent: str = f"app/{HARNESS_APP_ID}"

    @property
    def active(self) -> bool:
        kind = BadDaySpec(
            lost_operations=self.lost_operations,
            throttle_burst=self.throttle_burst,
            exempt_agent=self.exempt_agent,
        )
        return self != kind

    def text(self) -> str:
        """The spec as ``name=value`` items (what ``parse_spec`` reads back)."""
        items = []
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if isinstance(value, tuple):
                value = "+".join(value)
            elif isinstance(value, bool):
                value = "on" if value else "off"
            items.append(
                f"{spec_field.name.replace('_', '-')}={value:g}"
                if isinstance(value, float)
                else f"{spec_field.name.replace('_', '-')}={value}"
            )
        return ",".join(items)


PROFILES: dict[str, BadDaySpec] = {
    "off": BadDaySpec(),
    # Windows of a few seconds, a fault every few dozen calls: what make test runs under.
    "realistic": BadDaySpec(
        iam_consistency=2.0,
        ec2_pending=2.0,
        ec2_stopping=2.0,
        ec2_shutting_down=2.0,
        throttle=41,
        throttle_burst=1,
        server_error=67,
        lost_response=9,
        refusals=True,
    ),
}


def _convert(name: str, text: str, current: Any) -> Any:
    if isinstance(current, bool):
        if text not in ("on", "off", "true", "false", "1", "0"):
            raise ValueError(f"bad-day {name}: on or off, not {text!r}")
        return text in ("on", "true", "1")
    if isinstance(current, tuple):
        return tuple(part for part in text.split("+") if part)
    if isinstance(current, str):
        return text
    number = float(text) if isinstance(current, float) else int(text)
    if number < 0:
        raise ValueError(f"bad-day {name}: must not be negative, not {text!r}")
    return number


def parse_spec(text: str) -> BadDaySpec:
    """``off``, ``realistic``, or a profile and/or ``name=value`` items separated by commas."""
    spec = BadDaySpec()
    names = {spec_field.name.replace("_", "-"): spec_field.name for spec_field in fields(BadDaySpec)}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if "=" not in item:
            if item not in PROFILES:
                raise ValueError(f"bad-day: unknown profile {item!r}; known: {', '.join(PROFILES)}")
            spec = PROFILES[item]
            continue
        key, _sep, value = item.partition("=")
        if key.strip() not in names:
            raise ValueError(f"bad-day: unknown behaviour {key.strip()!r}; known: {', '.join(names)}")
        attribute = names[key.strip()]
        spec = replace(spec, **{attribute: _convert(key.strip(), value.strip(), getattr(spec, attribute))})
    if spec.throttle_burst < 1:
        raise ValueError("bad-day throttle-burst: at least 1")
    if spec.lost_response == 1:
        raise ValueError("bad-day lost-response: 1 would drop every retry too; use 2 or more")
    return spec


# --- answers --------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


_STATUS_TEXT = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_answer(service: str, status: int, code: str, message: str) -> Answer:
    """An error in the service's own wire format, as botocore parses it."""
    request_id = str(uuid.uuid4())
    message = _escape(message)
    if service == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    elif service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}'
            f"</Message><RequestId>{request_id}</RequestId></Error>"
        )
    else:
        namespace = _STS_NS if service == "sts" else _IAM_NS
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    payload = body.encode()
    headers = [
        ("Content-Type", "text/xml"),
        ("Content-Length", str(len(payload))),
        ("x-amzn-RequestId", request_id),
    ]
    return Answer(status, headers, payload)


THROTTLED = {
    "iam": (400, "Throttling", "Rate exceeded"),
    "sts": (400, "Throttling", "Rate exceeded"),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "s3": (503, "SlowDown", "Please reduce your request rate."),
}
SERVER_ERRORS = {
    "iam": (500, "ServiceFailure", "The request processing has failed because of an unknown error."),
    "sts": (503, "ServiceUnavailable", "Service is unavailable."),
    "ec2": (500, "InternalError", "An internal error has occurred."),
    "s3": (500, "InternalError", "We encountered an internal error. Please try again."),
}


# --- request parameters -----------------------------------------------------------------------


def read_form_body(environ: Environ) -> dict[str, list[str]]:
    """Parse a form-encoded body and put the bytes back so moto can read them again."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if length <= 0:
        return {}
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)


def request_params(environ: Environ) -> dict[str, str]:
    """Query and form parameters (first value each); the body is put back for moto."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return {key: values[0] for key, values in {**query, **read_form_body(environ)}.items()}


def numbered(params: dict[str, str], prefix: str) -> list[str]:
    """``prefix.1``, ``prefix.2``, ... values in order (the query protocol's lists)."""
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)$")
    found = sorted(
        (int(match.group(1)), value) for key, value in params.items() if (match := pattern.match(key))
    )
    return [value for _index, value in found]


def _drain(environ: Environ) -> None:
    """Read an unread request body, so a client still sending it sees the answer."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    stream = environ.get("wsgi.input")
    while length > 0 and stream is not None:
        chunk = stream.read(min(length, 1 << 16))
        if not chunk:
            return
        length -= len(chunk)


# --- IAM eventual consistency -------------------------------------------------------------------

# Operations that read or depend on a role or profile named in the request.
ROLE_DEPENDENT = frozenset(
    {
        "GetRole",
        "ListRolePolicies",
        "GetRolePolicy",
        "ListAttachedRolePolicies",
        "ListRoleTags",
        "ListInstanceProfilesForRole",
        "PutRolePolicy",
        "AttachRolePolicy",
        "TagRole",
        "UpdateAssumeRolePolicy",
        "UpdateRole",
        "UpdateRoleDescription",
        "PutRolePermissionsBoundary",
        "AddRoleToInstanceProfile",
    }
)
PROFILE_DEPENDENT = frozenset(
    {
        "GetInstanceProfile",
        "ListInstanceProfileTags",
        "TagInstanceProfile",
        "AddRoleToInstanceProfile",
    }
)
# Writes after which the entity they name is not yet visible everywhere.
FRESHENING = {
    "CreateRole": ("role", "RoleName"),
    "CreateInstanceProfile": ("profile", "InstanceProfileName"),
    "AddRoleToInstanceProfile": ("profile", "InstanceProfileName"),
}
PROFILE_USERS = frozenset(
    {"RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"}
)


def stale_iam_entity(
    operation: str, params: dict[str, str], fresh: dict[tuple[str, str], float], now: float
) -> tuple[str, str] | None:
    """The (kind, name) a dependent call names while it is still fresh, else None."""
    candidates = []
    if operation in ROLE_DEPENDENT and params.get("RoleName"):
        candidates.append(("role", params["RoleName"]))
    if operation in PROFILE_DEPENDENT and params.get("InstanceProfileName"):
        candidates.append(("profile", params["InstanceProfileName"]))
    for entity in candidates:
        if fresh.get(entity, 0.0) > now:
            return entity
    return None


def profile_named(params: dict[str, str]) -> tuple[str, str] | None:
    """("name" | "arn", the profile name) an EC2 call names, if any."""
    if params.get("IamInstanceProfile.Name"):
        return "name", params["IamInstanceProfile.Name"]
    arn = params.get("IamInstanceProfile.Arn")
    if arn:
        return "arn", arn.rsplit("/", 1)[-1]
    return None


# --- EC2 instance states ----------------------------------------------------------------------

STATE_CODES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}
# Where a transition lands, and from which states EC2 refuses a start or a stop.
SETTLES_TO = {"pending": "running", "stopping": "stopped", "shutting-down": "terminated"}
REFUSES = {
    "StopInstances": frozenset({"pending", "shutting-down", "terminated"}),
    "StartInstances": frozenset({"stopping", "shutting-down", "terminated"}),
}
_VERBS = {"StopInstances": "stopped", "StartInstances": "started"}


def refused_transition(operation: str, states: dict[str, str]) -> str | None:
    """The IncorrectInstanceState message for a start/stop of an instance in the wrong state."""
    refused = REFUSES.get(operation, frozenset())
    for instance_id, state in states.items():
        if state in refused:
            return f"The instance '{instance_id}' is not in a state from which it can be {_VERBS[operation]}."
    return None


@dataclass
class Transition:
    instance: Any
    state: str
    until: float


def forward(app: WsgiApp, environ: Environ) -> Answer:
    """What the WSGI ``app`` (moto) answers, whole; a crash is a 500, as its server would answer."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = int(status.split(" ", 1)[0]), list(headers)
        return lambda data: None

    try:
        chunks = app(environ, capture)
    except Exception as error:
        text = f"moto failed: {type(error).__name__}: {error}\n".encode()
        return Answer(500, [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))], text)
    try:
        body = b"".join(chunks)
    finally:  # WSGI: the iterable is closed, whatever happens
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Answer(captured["status"], captured["headers"], body)


def with_body(answer: Answer, body: bytes) -> Answer:
    """The same answer with another body (and its Content-Length)."""
    headers = [(key, str(len(body)) if key.lower() == "content-length" else value)
               for key, value in answer.headers]
    return Answer(answer.status, headers, body)


def send(answer: Answer, start_response: StartResponse) -> list[bytes]:
    start_response(f"{answer.status} {_STATUS_TEXT.get(answer.status, 'OK')}", answer.headers)
    return [answer.body]


def json_answer(body: Any) -> Answer:
    payload = json.dumps(body).encode()
    return Answer(200, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload)


def text_answer(status: int, text: str) -> Answer:
    payload = f"{text}\n".encode()
    return Answer(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))], payload)


class Journal:
    """Records a layer keeps for its control endpoints: ``GET path`` lists them, oldest first;
    ``POST reset_path`` forgets them. Safe across the server's threads."""

    def __init__(self, path: str, reset_path: str) -> None:
        self.path, self.reset_path = path, reset_path
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    def answer(self, method: str, path: str) -> Answer:
        with self._lock:
            if path == self.path and method == "GET":
                return json_answer(list(self._records))
            if path == self.reset_path and method == "POST":
                cleared = len(self._records)
                self._records.clear()
                return json_answer({"cleared": cleared})
        if path in (self.path, self.reset_path):
            return text_answer(405, "405 Method Not Allowed")
        return text_answer(404, "404 Not Found")


def find_instance(region: str, instance_id: str) -> Any:
    """moto's instance object (this layer runs in moto's process), or None."""
    from moto.ec2.exceptions import InvalidInstanceIdError
    from moto.ec2.models import ec2_backends

    for account in list(ec2_backends.keys()):
        try:
            return ec2_backends[account][region].get_instance(instance_id)
        except InvalidInstanceIdError:
            continue
    return None


def _set_state(instance: Any, state: str) -> None:
    instance._state.name = state
    instance._state.code = STATE_CODES[state]


# --- refusals --------------------------------------------------------------------------------


def refusal(service: str, operation: str, params: dict[str, str]) -> tuple[str, str] | None:
    """(code, message) for a request AWS refuses and moto accepts."""
    if service == "ec2" and operation in ("CreateTags", "DeleteTags"):
        keys = [params[key] for key in params if re.fullmatch(r"Tag\.\d+\.Key", key)]
    elif service == "iam" and operation in ("UntagRole", "UntagInstanceProfile"):
        keys = numbered(params, "TagKeys.member")
    elif service == "iam" and operation in ("TagRole", "TagInstanceProfile"):
        keys = [params[key] for key in params if re.fullmatch(r"Tags\.member\.\d+\.Key", key)]
    else:
        keys = []
    for key in keys:
        if key.lower().startswith("aws:"):
            if service == "ec2":
                return (
                    "InvalidParameterValue",
                    f"Value ( {key} ) for parameter key is invalid. "
                    "Tag keys starting with 'aws:' are reserved for internal use",
                )
            return "InvalidInput", f"Tag key {key} uses the reserved prefix aws: (reserved for AWS use)"
    user_data = params.get("UserData") if operation == "RunInstances" else None
    if operation == "ModifyInstanceAttribute":
        user_data = params.get("UserData.Value")
    if service == "ec2" and user_data is not None and not is_base64(user_data):
        return "InvalidParameterValue", "Invalid BASE64 encoding of user data."
    return None


def is_base64(text: str) -> bool:
    try:
        base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


# --- where moto fails and AWS answers --------------------------------------------------------------


def moto_gap(operation: str, params: dict[str, str], answer: Answer) -> Answer:
    """AWS's answer where moto breaks: removing a role that is not in the profile (moto: a 500)."""
    if operation == "RemoveRoleFromInstanceProfile" and answer.status == 500:
        message = (
            f"Role {params.get('RoleName')} is not in instance profile {params.get('InstanceProfileName')}."
        )
        return error_answer("iam", 404, "NoSuchEntity", message)
    return answer


# --- the layer ---------------------------------------------------------------------------------

_INSTANCE_ID = re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")
_REPLAYED_STATE = re.compile(
    r"(<instanceId>(i-[0-9a-f]+)</instanceId>.*?<instanceState>)<code>\d+</code><name>[a-z-]+</name>",
    re.DOTALL,
)


@dataclass
class _Tracked:
    fresh: dict[tuple[str, str], float] = field(default_factory=dict)
    transitions: dict[str, Transition] = field(default_factory=dict)
    tokens: dict[str, tuple[str, Answer]] = field(default_factory=dict)
    # One launch at a time per token: a second request with it waits, then gets the first's answer.
    launching: dict[str, threading.Lock] = field(default_factory=dict)


class LostResponse(ConnectionResetError):
    """Raised after the socket is closed: werkzeug drops the connection without a word."""


class BadDay:
    """WSGI middleware between the call recorder and moto (module docstring)."""

    def __init__(self, app: WsgiApp, spec: BadDaySpec | None = None) -> None:
        self._app = app
        self.spec = spec or BadDaySpec()
        self._lock = threading.RLock()
        self._tracked = _Tracked()
        self.faults: Counter[str] = Counter()
        self._calls = 0
        self._throttle_left = 0
        self._lost_counts: Counter[str] = Counter()

    # -- entry ----------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == BAD_DAY_PATH:
            return self._serve_control(environ, start_response)
        if path == MOTO_RESET_PATH:
            with self._lock:
                self._tracked = _Tracked()
        call = environ.get(CALL_KEY)
        if call is None or not self.spec.active:
            return self._app(environ, start_response)
        self._settle(time.monotonic())
        return send(self._handle(environ, call), start_response)

    def _handle(self, environ: Environ, call: dict[str, Any]) -> Answer:
        service, operation = call["service"], call["operation"]
        exempt = bool(self.spec.exempt_agent) and self.spec.exempt_agent in environ.get("HTTP_USER_AGENT", "")
        injected = None if exempt else self._injected_fault(service)
        if injected is not None:
            _drain(environ)
            return self._fault(call, injected, error_answer(service, *self._fault_table(injected)[service]))
        params = request_params(environ) if service in ("iam", "ec2", "sts") else {}
        with self._launching(call, operation, params):
            early = self._early_answer(call, service, operation, params, exempt)
            if early is not None:
                _drain(environ)
                return early
            answer = moto_gap(operation, params, forward(self._app, environ))
            if answer.status < 300:
                self._after_success(call, service, operation, params, answer)
        if not exempt and self._loses(operation):
            self._fault(call, "lost-response", answer)
            self._drop_connection(environ)
        return answer

    # -- faults before moto ------------------------------------------------------------------

    @staticmethod
    def _fault_table(kind: str) -> dict[str, tuple[int, str, str]]:
        return THROTTLED if kind == "throttle" else SERVER_ERRORS

    def _injected_fault(self, service: str) -> str | None:
        if service not in FAULTED_SERVICES:
            return None
        with self._lock:
            self._calls += 1
            if self._throttle_left > 0:
                self._throttle_left -= 1
                return "throttle"
            if self.spec.throttle and self._calls % self.spec.throttle == 0:
                self._throttle_left = self.spec.throttle_burst - 1
                return "throttle"
            if self.spec.server_error and self._calls % self.spec.server_error == 0:
                return "server-error"
        return None

    def _fault(self, call: dict[str, Any], kind: str, answer: Answer) -> Answer:
        with self._lock:
            self.faults[kind] += 1
        call["fault"] = kind
        return answer

    def _early_answer(
        self, call: dict[str, Any], service: str, operation: str, params: dict[str, str], exempt: bool
    ) -> Answer | None:
        """A refusal, a stale read, an idempotent replay: answered without moto."""
        if self.spec.refusals:
            refused = refusal(service, operation, params)
            if refused is not None:
                return self._fault(call, "refusal", error_answer(service, 400, *refused))
        if operation == "RunInstances" and params.get("ClientToken"):
            replay = self._replay(call, params)
            if replay is not None:
                return replay
        if exempt:
            return None
        now = time.monotonic()
        if service == "iam" and self.spec.iam_consistency:
            stale = stale_iam_entity(operation, params, self._tracked.fresh, now)
            if stale is not None:
                return self._fault(call, "iam-not-yet-visible", self._no_such_entity(*stale))
        if service != "ec2":
            return None
        return self._early_ec2_answer(call, operation, params, now)

    def _early_ec2_answer(
        self, call: dict[str, Any], operation: str, params: dict[str, str], now: float
    ) -> Answer | None:
        if operation in PROFILE_USERS and self.spec.iam_consistency:
            named = profile_named(params)
            if named is not None and self._tracked.fresh.get(("profile", named[1]), 0.0) > now:
                kind = named[0]
                message = (
                    f"Value ({params[f'IamInstanceProfile.{kind.capitalize()}']}) for parameter "
                    f"iamInstanceProfile.{kind} is invalid. Invalid IAM Instance Profile {kind}"
                )
                return self._fault(
                    call, "iam-not-yet-visible", error_answer("ec2", 400, "InvalidParameterValue", message)
                )
        if operation in REFUSES:
            states = self._states(call, numbered(params, "InstanceId"))
            message = refused_transition(operation, states)
            if message is not None:
                return self._fault(
                    call,
                    "incorrect-instance-state",
                    error_answer("ec2", 400, "IncorrectInstanceState", message),
                )
        return None

    def _no_such_entity(self, kind: str, name: str) -> Answer:
        noun = "role" if kind == "role" else "Instance Profile"
        return error_answer("iam", 404, "NoSuchEntity", f"The {noun} with name {name} cannot be found.")

    # -- ClientToken ---------------------------------------------------------------------------

    @staticmethod
    def _token_key(call: dict[str, Any], params: dict[str, str]) -> tuple[str, str]:
        significant = {
            key: value for key, value in params.items() if key not in ("ClientToken", "Action", "Version")
        }
        digest = hashlib.sha256(json.dumps(significant, sort_keys=True).encode()).hexdigest()
        # One account in the sandbox: a token is the account's, whichever key sends it.
        return f"{call.get('region')}:{params['ClientToken']}", digest

    def _launching(
        self, call: dict[str, Any], operation: str, params: dict[str, str]
    ) -> contextlib.AbstractContextManager[Any]:
        """Held from the token look-up to its record: EC2 launches once for requests sent at once too."""
        if operation != "RunInstances" or not params.get("ClientToken"):
            return contextlib.nullcontext()
        key, _digest = self._token_key(call, params)
        with self._lock:
            return self._tracked.launching.setdefault(key, threading.Lock())

    def _replay(self, call: dict[str, Any], params: dict[str, str]) -> Answer | None:
        key, digest = self._token_key(call, params)
        with self._lock:
            known = self._tracked.tokens.get(key)
        if known is None:
            return None
        known_digest, answer = known
        if known_digest != digest:
            return error_answer(
                "ec2",
                400,
                "IdempotentParameterMismatch",
                f"Arguments on this idempotent request are inconsistent with arguments used "
                f"in previous request(s) with client token {params['ClientToken']}.",
            )
        call["replayed"] = True
        return self._with_current_states(answer, call.get("region") or "")

    @staticmethod
    def _with_current_states(answer: Answer, region: str) -> Answer:
        """The same reservation; "the only information that might vary is the state of the instance"."""

        def current(match: re.Match[str]) -> str:
            instance = find_instance(region, match.group(2))
            if instance is None:
                return match.group(0)
            name = instance._state.name
            return f"{match.group(1)}<code>{STATE_CODES[name]}</code><name>{name}</name>"

        return with_body(answer, _REPLAYED_STATE.sub(current, answer.body.decode("utf-8")).encode())

    # -- moto and what follows --------------------------------------------------------------------

    def _after_success(
        self, call: dict[str, Any], service: str, operation: str, params: dict[str, str], answer: Answer
    ) -> None:
        now = time.monotonic()
        with self._lock:
            if service == "iam" and operation in FRESHENING and self.spec.iam_consistency:
                kind, param = FRESHENING[operation]
                if params.get(param):
                    self._tracked.fresh[(kind, params[param])] = now + self.spec.iam_consistency
            if service != "ec2":
                return
            if operation == "RunInstances" and params.get("ClientToken"):
                key, digest = self._token_key(call, params)
                self._tracked.tokens[key] = (digest, answer)
            self._begin_transitions(call, operation, params, answer, now)

    def _begin_transitions(
        self, call: dict[str, Any], operation: str, params: dict[str, str], answer: Answer, now: float
    ) -> None:
        state, seconds = {
            "RunInstances": ("pending", self.spec.ec2_pending),
            "StartInstances": ("pending", self.spec.ec2_pending),
            "StopInstances": ("stopping", self.spec.ec2_stopping),
            "TerminateInstances": ("shutting-down", self.spec.ec2_shutting_down),
        }.get(operation, ("", 0.0))
        if not seconds:
            return
        if operation == "RunInstances":
            instance_ids = _INSTANCE_ID.findall(answer.body.decode("utf-8", "replace"))
        else:
            instance_ids = numbered(params, "InstanceId")
        for instance_id in dict.fromkeys(instance_ids):
            instance = find_instance(call.get("region") or "", instance_id)
            if instance is None:
                continue
            _set_state(instance, state)
            self._tracked.transitions[instance_id] = Transition(instance, state, now + seconds)
            self.faults[f"ec2-{state}"] += 1

    def _settle(self, now: float) -> None:
        with self._lock:
            for instance_id, transition in list(self._tracked.transitions.items()):
                if transition.until > now:
                    continue
                if transition.instance._state.name == transition.state:
                    _set_state(transition.instance, SETTLES_TO[transition.state])
                del self._tracked.transitions[instance_id]

    @staticmethod
    def _states(call: dict[str, Any], instance_ids: list[str]) -> dict[str, str]:
        """The instances' states as moto (with this layer's transitions) holds them."""
        found = {
            instance_id: find_instance(call.get("region") or "", instance_id) for instance_id in instance_ids
        }
        return {
            instance_id: instance._state.name
            for instance_id, instance in found.items()
            if instance is not None
        }

    # -- lost responses -------------------------------------------------------------------------

    def _loses(self, operation: str) -> bool:
        if not self.spec.lost_response or operation not in self.spec.lost_operations:
            return False
        with self._lock:
            self._lost_counts[operation] += 1
            return self._lost_counts[operation] % self.spec.lost_response == 1

    @staticmethod
    def _drop_connection(environ: Environ) -> None:
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        raise LostResponse("bad day: the answer was dropped after the request was carried out")

    # -- control -----------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"spec": self.spec.text(), "active": self.spec.active, "faults": dict(self.faults)}

    def _serve_control(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            text = environ["wsgi.input"].read(length).decode() if length else ""
            try:
                spec = parse_spec(text)
            except ValueError as error:
                return send(text_answer(400, str(error)), start_response)
            with self._lock:
                self.spec = spec
                self._calls = 0
                self._throttle_left = 0
                self._lost_counts.clear()
        elif method != "GET":
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
            return [b"405 Method Not Allowed\n"]
        payload = json.dumps(self.report()).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]
