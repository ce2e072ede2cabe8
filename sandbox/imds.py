"""EC2 Instance Metadata Service emulator for one sandbox instance.

Run::

    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... python sandbox/imds.py \\
        --instance-id i-0123 --aws-endpoint http://127.0.0.1:MOTO --region us-east-1 \\
        --port 0 --port-file PATH

then point botocore or the AWS CLI at it with
``AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT/``: they fetch the instance role's
credentials exactly as on EC2 (IMDSv2 token, role listing, credentials document).

The emulator plays the EC2 control plane: its own credentials, taken from the environment
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``; never argv, which ``ps``
shows), read the instance (DescribeInstances), its instance profile and role (IAM), and call
``sts:AssumeRole`` on the role with the instance id as session name, after checking that the
role's trust policy lets ``ec2.amazonaws.com`` assume it. Credentials are cached and replaced
when fewer than ``--refresh-margin`` seconds remain or when the instance's profile or role changes.

moto workaround (``--moto-auth-toggle``, sandbox only): with authorization enforcement on, moto
5.2 answers ``sts:AssumeRole`` with HTTP 500 when the trust policy's Principal has no ``AWS`` key
(a service principal such as ``ec2.amazonaws.com``). With the flag, each AssumeRole call is
wrapped in ``POST /moto-api/reset-auth`` with body ``inf`` (enforcement off) and body ``0``
(enforcement on) afterwards, under a file lock every emulator of the same moto shares. The lock
file lives in the sandbox's own run directory (``--moto-auth-lock``, by default
``moto-auth.lock`` beside ``--port-file``), never under a fixed name in the shared temp directory
that another local user could create first or point elsewhere with a symbolic link.
The flag therefore assumes enforcement is on. The credentials moto issues stay restricted to the
role's policies once enforcement is back on; other clients' calls that land inside the short
window are not enforced.

The instance's profile is read from DescribeIamInstanceProfileAssociations, not from
DescribeInstances: moto 5.2's ReplaceIamInstanceProfileAssociation leaves the latter stale (on AWS
both agree).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import ipaddress
import json
import logging
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from awscalls import set_enforcement

LOG = logging.getLogger("imds")

TOKEN_PATH = "/latest/api/token"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
MAX_TOKEN_TTL = 21600  # seconds; "Use IMDSv2", EC2 User Guide
MAX_BODY = 64 * 1024  # IMDS requests carry no body; read (and drop) at most this much
# The --moto-auth-toggle lock, by default beside --port-file (moto_auth_lock).
MOTO_AUTH_LOCK = "moto-auth.lock"
# MetadataOptions can change at any time (modify-instance-metadata-options); re-read often.
INSTANCE_CACHE_SECONDS = 1.0

META = "latest/meta-data/"
IAM_INFO = f"{META}iam/info"
CREDENTIALS_DIR = f"{META}iam/security-credentials/"
IDENTITY_DOCUMENT = "latest/dynamic/instance-identity/document"
IDENTITY_DOCUMENT_VERSION = "2017-09-30"

EC2_SERVICE = "ec2.amazonaws.com"
ASSUME_ROLE = "sts:AssumeRole"
UNAUTHORIZED_CODE = "AssumeRoleUnauthorizedAccess"
# The message EC2 puts in the credentials document when the trust policy rejects it.
UNAUTHORIZED_MESSAGE = (
    "EC2 cannot assume the role {role}.  Please see documentation at "
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html."
)


# --- trust policy -----------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _policy_document(document: Any) -> dict[str, Any]:
    """IAM returns trust policies URL-encoded; boto3 usually decodes them already."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    return document if isinstance(document, dict) else {}


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` wildcards."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, action, re.IGNORECASE) is not None


def _covers_assume_role(statement: dict[str, Any]) -> bool:
    if "NotAction" in statement:
        return not any(action_matches(p, ASSUME_ROLE) for p in _as_list(statement["NotAction"]))
    return any(action_matches(p, ASSUME_ROLE) for p in _as_list(statement.get("Action")))


def _names_ec2(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return EC2_SERVICE in (str(name).lower() for name in _as_list(principal.get("Service")))


def _covers_ec2(statement: dict[str, Any]) -> bool:
    if "NotPrincipal" in statement:  # only valid with Deny
        return statement.get("Effect") == "Deny" and not _names_ec2(statement["NotPrincipal"])
    return _names_ec2(statement.get("Principal"))


def ec2_may_assume(document: Any) -> bool:
    """Whether the trust policy lets EC2 assume the role: an Allow and no Deny that apply.

    Conditions are not evaluated: EC2 supplies no context keys a sandbox could check.
    """
    statements = _as_list(_policy_document(document).get("Statement"))
    effects = {
        statement.get("Effect")
        for statement in statements
        if isinstance(statement, dict) and _covers_ec2(statement) and _covers_assume_role(statement)
    }
    return "Allow" in effects and "Deny" not in effects


# --- what the emulator knows about the instance -----------------------------------------------


def iso_time(moment: datetime) -> str:
    """The timestamp format of IMDS documents: UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Instance:
    instance_id: str
    account_id: str
    availability_zone: str
    image_id: str
    instance_type: str
    private_ip: str
    architecture: str
    launch_time: datetime
    profile_arn: str | None
    http_tokens: str
    http_endpoint: str

    @classmethod
    def from_description(cls, owner_id: str, data: dict[str, Any]) -> Instance:
        options = data.get("MetadataOptions", {})
        return cls(
            instance_id=data["InstanceId"],
            account_id=owner_id,
            availability_zone=data.get("Placement", {}).get("AvailabilityZone", ""),
            image_id=data.get("ImageId", ""),
            instance_type=data.get("InstanceType", ""),
            private_ip=data.get("PrivateIpAddress", ""),
            architecture=data.get("Architecture", "x86_64"),
            launch_time=data["LaunchTime"],
            profile_arn=data.get("IamInstanceProfile", {}).get("Arn"),  # see _associated_profile
            # Absent options mean the EC2 defaults of instances launched without them.
            http_tokens=options.get("HttpTokens", "optional"),
            http_endpoint=options.get("HttpEndpoint", "enabled"),
        )


@dataclass(frozen=True)
class Profile:
    arn: str
    profile_id: str
    role: dict[str, Any] | None  # GetRole's Role, None when the profile holds no role


@dataclass(frozen=True)
class Grant:
    """Role credentials issued for the instance, and what they were issued for."""

    issued_for: tuple[str, str, str]  # profile ARN, role ARN, role id
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    issued: datetime


def needs_refresh(
    grant: Grant | None, issued_for: tuple[str, str, str], now: datetime, margin: float
) -> bool:
    """New credentials when none are cached, the profile or role changed, or expiry is near."""
    if grant is None or grant.issued_for != issued_for:
        return True
    return (grant.expiration - now).total_seconds() < margin


# --- the AWS side (the "EC2 control plane") ---------------------------------------------------


class MotoAuthToggle:
    """Switches moto's authorization enforcement off around a call and on again afterwards."""

    def __init__(self, endpoint: str, lock_file: Path) -> None:
        self._endpoint = endpoint
        self._lock = threading.Lock()
        # Emulators of other instances toggle the same moto: one at a time across processes,
        # through a file in the directory of the sandbox that runs that moto.
        self.lock_file = lock_file

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        with self._lock, _open_lock_file(self.lock_file) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            set_enforcement(self._endpoint, on=False)
            try:
                yield
            finally:
                set_enforcement(self._endpoint, on=True)


def _open_lock_file(path: Path) -> IO[bytes]:
    """Opens (creating, mode 0600) the lock file; a symbolic link in its place is refused."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.fdopen(os.open(path, flags, 0o600), "r+b")


def moto_auth_lock(lock_file: Path | None, port_file: Path | None) -> Path:
    """The lock file of --moto-auth-toggle: --moto-auth-lock, else moto-auth.lock beside --port-file.

    The launcher gives the emulators and the moto server of one sandbox the same run directory
    (sandbox.py's run_dir), so the default is shared by exactly the emulators of that moto.
    """
    if lock_file is not None:
        return lock_file
    if port_file is not None:
        return port_file.parent / MOTO_AUTH_LOCK
    raise SystemExit("imds: --moto-auth-toggle needs --moto-auth-lock, or --port-file to put it beside")


class ControlPlane:
    """Thin EC2/IAM/STS calls with the emulator's own credentials."""

    def __init__(
        self, endpoint: str, region: str, keys: Mapping[str, str], auth_toggle: MotoAuthToggle | None
    ) -> None:
        session = boto3.session.Session(region_name=region, **keys)
        config = Config(
            proxies={},
            connect_timeout=5,
            read_timeout=20,
            retries={"mode": "standard", "total_max_attempts": 2},
        )
        self._ec2, self._iam, self._sts = (
            session.client(name, endpoint_url=endpoint, config=config) for name in ("ec2", "iam", "sts")
        )
        self._auth_toggle = auth_toggle

    def instance(self, instance_id: str) -> Instance | None:
        try:
            reservations = self._ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except ClientError as error:
            if error.response["Error"]["Code"].startswith("InvalidInstanceID"):
                return None
            raise
        for reservation in reservations:
            for data in reservation["Instances"]:
                if data["State"]["Name"] != "terminated":
                    instance = Instance.from_description(reservation.get("OwnerId", ""), data)
                    return replace(instance, profile_arn=self._associated_profile(instance_id))
        return None

    def instance_named(self, name: str) -> Instance | None:
        """The live instance whose Name tag is ``name`` (the sandbox starts before it exists)."""
        filters = [
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
        reservations = self._ec2.describe_instances(Filters=filters)["Reservations"]
        ids = sorted(data["InstanceId"] for reservation in reservations for data in reservation["Instances"])
        return self.instance(ids[0]) if ids else None

    def _associated_profile(self, instance_id: str) -> str | None:
        """The profile ARN from the association API, which both AWS and moto keep current.

        moto 5.2's ReplaceIamInstanceProfileAssociation leaves DescribeInstances'
        IamInstanceProfile on the old profile; our ec2_instance module replaces associations.
        """
        filters = [
            {"Name": "instance-id", "Values": [instance_id]},
            {"Name": "state", "Values": ["associated"]},
        ]
        associations = self._ec2.describe_iam_instance_profile_associations(Filters=filters)
        arns = [item["IamInstanceProfile"]["Arn"] for item in associations["IamInstanceProfileAssociations"]]
        return arns[0] if arns else None

    def profile(self, arn: str) -> Profile | None:
        name = arn.rsplit("/", 1)[-1]
        try:
            data = self._iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
            roles = data.get("Roles", [])
            role = self._iam.get_role(RoleName=roles[0]["RoleName"])["Role"] if roles else None
        except self._iam.exceptions.NoSuchEntityException:
            return None
        return Profile(arn=data["Arn"], profile_id=data["InstanceProfileId"], role=role)

    def assume_role(self, role_arn: str, session_name: str, duration: int) -> dict[str, Any]:
        toggle = self._auth_toggle.suspended() if self._auth_toggle else contextlib.nullcontext()
        with toggle:
            response = self._sts.assume_role(
                RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration
            )
        return response["Credentials"]


# --- tokens -----------------------------------------------------------------------------------


def ascii_int(value: str | None) -> int | None:
    """A header's non-negative decimal number; None for anything else (``str.isdigit`` takes "²")."""
    text = (value or "").strip()
    return int(text) if re.fullmatch(r"[0-9]{1,12}", text) else None


def parse_token_ttl(value: str | None) -> int | None:
    """The requested token lifetime, or None when EC2 would answer 400."""
    ttl = ascii_int(value)
    return ttl if ttl is not None and 1 <= ttl <= MAX_TOKEN_TTL else None


class TokenStore:
    """IMDSv2 session tokens: random strings valid until a monotonic deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[str, float] = {}

    def issue(self, ttl: int) -> str:
        token = secrets.token_urlsafe(42)
        now = time.monotonic()
        with self._lock:
            self._deadlines = {t: d for t, d in self._deadlines.items() if d > now}
            self._deadlines[token] = now + ttl
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            deadline = self._deadlines.get(token)
        return deadline is not None and deadline > time.monotonic()


def token_refusal(token: str | None, valid: bool, required: bool) -> int | None:
    """401 for a missing token when IMDSv2 is required, and for any invalid or expired one."""
    if token is None:
        return 401 if required else None
    return None if valid else 401


# --- the metadata service ---------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    body: str = ""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


NOT_FOUND = Response(404, "Not Found")


def _json(document: dict[str, Any]) -> Response:
    return Response(200, json.dumps(document, indent=2), "text/plain")


def _listing(directory: str, paths: list[str]) -> list[str]:
    """The entries directly under ``directory``; sub-directories end with ``/``."""
    prefix = f"{directory.rstrip('/')}/" if directory.strip("/") else ""
    entries: list[str] = []
    for path in paths:
        if not path.startswith(prefix) or path == prefix:
            continue
        head, slash, _rest = path[len(prefix) :].partition("/")
        entry = f"{head}{slash}"
        if entry not in entries:
            entries.append(entry)
    return sorted(entries)


@dataclass(frozen=True)
class Settings:
    instance_id: str | None
    region: str
    session_duration: int
    refresh_margin: float
    instance_name: str | None = None


class Imds:
    """Answers metadata requests for one instance; thread-safe."""

    def __init__(self, plane: ControlPlane, settings: Settings) -> None:
        self._plane = plane
        self._settings = settings
        self.tokens = TokenStore()
        self._instance_lock = threading.Lock()
        self._instance: tuple[float, Instance | None] | None = None
        self._grant_lock = threading.Lock()
        self._grant: Grant | None = None

    def instance(self) -> Instance | None:
        with self._instance_lock:
            now = time.monotonic()
            if self._instance is None or now - self._instance[0] > INSTANCE_CACHE_SECONDS:
                self._instance = (now, self._lookup())
            return self._instance[1]

    def _lookup(self) -> Instance | None:
        if self._settings.instance_id:
            return self._plane.instance(self._settings.instance_id)
        return self._plane.instance_named(self._settings.instance_name or "")

    def handle(self, method: str, path: str, headers: Message) -> Response:
        instance = self.instance()
        if instance is None:
            return NOT_FOUND
        if instance.http_endpoint == "disabled":
            return Response(403, "Forbidden")
        if method == "PUT":
            return self._put(path, headers)
        token = headers.get(TOKEN_HEADER)
        refusal = token_refusal(
            token, token is not None and self.tokens.valid(token), instance.http_tokens == "required"
        )
        if refusal:
            return Response(refusal, "Unauthorized")
        return self._get(path.lstrip("/"), instance)

    def _put(self, path: str, headers: Message) -> Response:
        if path != TOKEN_PATH:
            return Response(405, "Method Not Allowed")
        if headers.get("X-Forwarded-For") is not None:  # EC2 refuses tokens through a proxy
            return Response(403, "Forbidden")
        ttl = parse_token_ttl(headers.get(TOKEN_TTL_HEADER))
        if ttl is None:
            return Response(400, "Bad Request")
        return Response(200, self.tokens.issue(ttl), headers=((TOKEN_TTL_HEADER, str(ttl)),))

    def _get(self, key: str, instance: Instance) -> Response:
        if f"/{key}" == TOKEN_PATH:
            return Response(405, "Method Not Allowed")
        values = self._values(instance)
        if key in values:
            return Response(200, values[key])
        if key == IDENTITY_DOCUMENT:
            return _json(self._identity_document(instance))
        if key == IAM_INFO:
            return self._iam_info(instance)
        if f"{key}/".startswith(CREDENTIALS_DIR):
            return self._credentials(key[len(CREDENTIALS_DIR) :].strip("/"), instance)
        paths = [*values, IDENTITY_DOCUMENT]
        paths += [IAM_INFO, CREDENTIALS_DIR] if instance.profile_arn else []
        entries = _listing(key, paths)
        return Response(200, "\n".join(entries)) if entries else NOT_FOUND

    def _values(self, instance: Instance) -> dict[str, str]:
        return {
            f"{META}ami-id": instance.image_id,
            f"{META}instance-id": instance.instance_id,
            f"{META}instance-type": instance.instance_type,
            f"{META}local-ipv4": instance.private_ip,
            f"{META}placement/availability-zone": instance.availability_zone,
            f"{META}placement/region": self._settings.region,
        }

    def _identity_document(self, instance: Instance) -> dict[str, Any]:
        return {
            "accountId": instance.account_id,
            "architecture": instance.architecture,
            "availabilityZone": instance.availability_zone,
            "billingProducts": None,
            "devpayProductCodes": None,
            "marketplaceProductCodes": None,
            "imageId": instance.image_id,
            "instanceId": instance.instance_id,
            "instanceType": instance.instance_type,
            "kernelId": None,
            "pendingTime": iso_time(instance.launch_time),
            "privateIp": instance.private_ip,
            "ramdiskId": None,
            "region": self._settings.region,
            "version": IDENTITY_DOCUMENT_VERSION,
        }

    def _profile(self, instance: Instance) -> Profile | None:
        return self._plane.profile(instance.profile_arn) if instance.profile_arn else None

    def _last_updated(self) -> str:
        grant = self._grant
        return iso_time(grant.issued if grant else datetime.now(UTC))

    def _iam_info(self, instance: Instance) -> Response:
        profile = self._profile(instance)
        if profile is None:
            return NOT_FOUND
        return _json(
            {
                "Code": "Success",
                "LastUpdated": self._last_updated(),
                "InstanceProfileArn": profile.arn,
                "InstanceProfileId": profile.profile_id,
            }
        )

    def _credentials(self, role_name: str, instance: Instance) -> Response:
        profile = self._profile(instance)
        role = profile.role if profile else None
        if profile is None or role is None:
            return NOT_FOUND
        if not role_name:
            return Response(200, role["RoleName"])
        if role_name != role["RoleName"]:
            return NOT_FOUND
        grant = self._grant_for(profile.arn, role, instance.instance_id)
        if grant is None:
            return _json(
                {
                    "Code": UNAUTHORIZED_CODE,
                    "LastUpdated": iso_time(datetime.now(UTC)),
                    "Message": UNAUTHORIZED_MESSAGE.format(role=role["RoleName"]),
                }
            )
        return _json(
            {
                "Code": "Success",
                "LastUpdated": iso_time(grant.issued),
                "Type": "AWS-HMAC",
                "AccessKeyId": grant.access_key_id,
                "SecretAccessKey": grant.secret_access_key,
                "Token": grant.session_token,
                "Expiration": iso_time(grant.expiration),
            }
        )

    def _grant_for(self, profile_arn: str, role: dict[str, Any], session_name: str) -> Grant | None:
        """Cached role credentials, renewed when needed; None when EC2 may not assume the role."""
        if not ec2_may_assume(role.get("AssumeRolePolicyDocument")):
            return None
        issued_for = (profile_arn, role["Arn"], role["RoleId"])
        with self._grant_lock:  # one AssumeRole at a time; the others reuse its result
            if needs_refresh(self._grant, issued_for, datetime.now(UTC), self._settings.refresh_margin):
                self._grant = self._assume(issued_for, session_name)
            return self._grant

    def _assume(self, issued_for: tuple[str, str, str], session_name: str) -> Grant:
        issued = datetime.now(UTC)
        data = self._plane.assume_role(issued_for[1], session_name, self._settings.session_duration)
        LOG.info("assumed %s for %s until %s", issued_for[1], session_name, iso_time(data["Expiration"]))
        return Grant(
            issued_for=issued_for,
            access_key_id=data["AccessKeyId"],
            secret_access_key=data["SecretAccessKey"],
            session_token=data["SessionToken"],
            expiration=data["Expiration"],
            issued=issued,
        )


# --- HTTP -------------------------------------------------------------------------------------


class ImdsHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], imds: Imds) -> None:
        self.imds = imds
        super().__init__(address, ImdsRequestHandler)


class ImdsRequestHandler(BaseHTTPRequestHandler):
    server: ImdsHttpServer
    server_version = "EC2ws"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        self.rfile.read(min(ascii_int(self.headers.get("Content-Length")) or 0, MAX_BODY))
        path = urlsplit(self.path).path
        try:
            response = self.server.imds.handle(method, path, self.headers)
        except Exception as error:  # an unreachable or failing AWS endpoint
            LOG.error("%s %s: %s: %s", method, path, type(error).__name__, error)
            response = Response(500, "Internal Server Error")
        self._send(response)
        # Never the headers (they carry tokens) nor the query string; the path holds no secret.
        LOG.info("%s %s %s %s", self.client_address[0], method, path, response.status)

    def _send(self, response: Response) -> None:
        body = response.body.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Replaced by the single line ``_serve`` writes."""


# --- process ----------------------------------------------------------------------------------


def _loopback(value: str) -> str:
    address = "127.0.0.1" if value == "localhost" else value
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value} is not an IP address") from error
    if parsed.version != 4 or not parsed.is_loopback:
        raise argparse.ArgumentTypeError(f"{value} is not an IPv4 loopback address")
    return address


def _loopback_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or parts.hostname is None:
        raise argparse.ArgumentTypeError(f"{value} is not an http(s) URL")
    _loopback(parts.hostname)
    return value.rstrip("/")


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{value} is not within {low}..{high}")
        return number

    return parse


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--instance-id", help="the instance this service describes")
    which.add_argument(
        "--instance-name",
        help="or: the live instance with this Name tag, looked up on each request (cached 1 s)",
    )
    parser.add_argument(
        "--aws-endpoint", required=True, type=_loopback_url, help="loopback URL of the AWS stand-in (moto)"
    )
    parser.add_argument("--region", required=True)
    parser.add_argument(
        "--host",
        type=_loopback,
        default="127.0.0.1",
        help="IPv4 loopback address to bind (default 127.0.0.1)",
    )
    parser.add_argument("--port", type=_bounded(0, 65535), default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--port-file", type=Path, help="written with the bound port once listening (atomic); removed on exit"
    )
    parser.add_argument(
        "--session-duration",
        type=_bounded(900, 43200),
        default=900,
        help="DurationSeconds of the role sessions, 900..43200 as in STS (default 900)",
    )
    parser.add_argument(
        "--refresh-margin",
        type=_bounded(0, 43200),
        default=300,
        help="renew credentials when fewer seconds remain (default 300)",
    )
    parser.add_argument(
        "--moto-auth-toggle",
        action="store_true",
        help="switch moto's enforcement off around AssumeRole (see module doc)",
    )
    parser.add_argument(
        "--moto-auth-lock",
        type=Path,
        help=f"lock file shared by the emulators of one moto (default: {MOTO_AUTH_LOCK} beside --port-file)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when the parent process goes away (test harnesses)",
    )
    return parser.parse_args(argv)


def _own_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """The control plane's keys, from the environment only (argv is visible in ps)."""
    names = {
        "aws_access_key_id": "AWS_ACCESS_KEY_ID",
        "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
        "aws_session_token": "AWS_SESSION_TOKEN",
    }
    keys = {arg: environ[var] for arg, var in names.items() if environ.get(var)}
    if "aws_access_key_id" not in keys or "aws_secret_access_key" not in keys:
        raise SystemExit("imds: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
    return keys


def _write_port_file(path: Path, port: int) -> None:
    staging = path.parent / f".{path.name}.{os.getpid()}.tmp"
    staging.write_text(f"{port}\n")
    os.replace(staging, path)  # readers never see a partial file


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _wait_for_stop(stop: threading.Event, parent: int | None) -> None:
    """Until SIGTERM or SIGINT, or until ``parent`` (when given) is no longer our parent."""
    while not stop.wait(0.2):
        if parent is not None and os.getppid() != parent:
            return


def serve(server: ImdsHttpServer, args: argparse.Namespace, parent: int | None) -> None:
    # Handlers first: a SIGTERM sent as soon as the port file appears must still stop us cleanly.
    stop = _stop_on_signals()
    worker = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="imds", daemon=True
    )
    worker.start()
    try:
        if args.port_file:
            _write_port_file(args.port_file, server.server_port)
        LOG.info(
            "listening on http://%s:%s/ for %s",
            args.host,
            server.server_port,
            args.instance_id or args.instance_name,
        )
        _wait_for_stop(stop, parent)
    finally:
        # Stopping already: a repeated SIGTERM must not kill us half-way (Python puts the default
        # handlers back while it finalizes, but leaves ignored signals ignored).
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        server.shutdown()
        server.server_close()
        worker.join(timeout=5)
        if args.port_file:
            args.port_file.unlink(missing_ok=True)


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s imds %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


def main(argv: list[str] | None = None) -> int:
    parent = os.getppid()  # before anything slow: the parent may be gone by the time we listen
    args = _parse_args(argv)
    _configure_logging()
    toggle = (
        MotoAuthToggle(args.aws_endpoint, moto_auth_lock(args.moto_auth_lock, args.port_file))
        if args.moto_auth_toggle
        else None
    )
    plane = ControlPlane(args.aws_endpoint, args.region, _own_credentials(os.environ), toggle)
    settings = Settings(
        instance_id=args.instance_id,
        instance_name=args.instance_name,
        region=args.region,
        session_duration=args.session_duration,
        refresh_margin=args.refresh_margin,
    )
    server = ImdsHttpServer((args.host, args.port), Imds(plane, settings))
    serve(server, args, parent if args.exit_with_parent else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
