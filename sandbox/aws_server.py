"""Local AWS stand-in: moto's server plus a recorder of every AWS API call it receives.

Run: ``python sandbox/aws_server.py --port 0 --port-file PATH [--host 127.0.0.1]``.
``GET /_keyless/calls`` lists the recorded calls, ``POST /_keyless/calls/reset`` clears them;
moto's own ``/moto-api/...`` endpoints work as usual and are not recorded. ``Ec2Gaps`` plays EC2
behaviours moto lacks (protection, placement group and volume IOPS/throughput at launch, detailed
monitoring changes). ``AwsAuthorizer`` (authorize.py) authorizes the IAM users tagged for it as
AWS would, which moto cannot (``GET /_keyless/authorizations`` lists its decisions).
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

from moto.moto_server.werkzeug_app import (
    UNSIGNED_ACTIONS,
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from authorize import AwsAuthorizer
from awscalls import AUTHORIZATIONS_PATH, CALLS_PATH, RESET_CALLS_PATH
from bad_day import (
    BAD_DAY_PATH,
    CALL_KEY,
    Answer,
    BadDay,
    Journal,
    error_answer,
    find_instance,
    forward,
    numbered,
    parse_spec,
    read_form_body,
    request_params,
    send,
    with_body,
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
# CloudWatch and other services on the Smithy RPC v2 protocol put the operation in the path.
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")
# moto calls itself at http://localhost/<service>_<region>/...
_MOTO_INTERNAL_PATH = re.compile(r"^/([a-z0-9-]+)_[a-z]{2}(?:-[a-z]+)+-\d/")
# Unsigned requests to these paths are instance-metadata look-ups, not AWS API calls
# (moto serves them too).
_METADATA_PREFIXES = ("/latest/meta-data/", "/latest/api/")
_NOT_RECORDED_PREFIXES = ("/moto-api", "/favicon.ico")
OWN_PREFIX = "/_keyless/"

# Bucket sub-resources (the first matching query key) -> operation per HTTP method; see
# "Amazon S3 API Reference: Actions". None = no such operation, the call is named by path.
_S3_BUCKET_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    # (GET, PUT, DELETE)
    "accelerate": ("GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", None),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "cors": ("GetBucketCors", "PutBucketCors", "DeleteBucketCors"),
    "encryption": ("GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"),
    "lifecycle": ("GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration",
                  "DeleteBucketLifecycle"),
    "location": ("GetBucketLocation", None, None),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "notification": ("GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", None),
    "object-lock": ("GetObjectLockConfiguration", "PutObjectLockConfiguration", None),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls",
                          "DeleteBucketOwnershipControls"),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", None, None),
    "publicAccessBlock": ("GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock"),
    "replication": ("GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication"),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
}
_S3_OBJECT_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    "acl": ("GetObjectAcl", "PutObjectAcl", None),
    "attributes": ("GetObjectAttributes", None, None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None),
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
}
_S3_PLAIN_BUCKET = {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}
_S3_PLAIN_OBJECT = {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
_S3_MULTIPART_PART = {"GET": "ListParts", "POST": "CompleteMultipartUpload",
                      "DELETE": "AbortMultipartUpload"}


# --- naming a request -----------------------------------------------------------------------

def _wsgi_text(value: str) -> str:
    """WSGI hands over the path as latin-1 decoded bytes; S3 keys are UTF-8."""
    return value.encode("latin-1").decode("utf-8", "replace")


def _signature_scope(environ: Environ, query: dict[str, list[str]]) -> tuple[str, str, str] | None:
    """(access key id, region, service) from a SigV4 header or a presigned URL."""
    scope = environ.get("HTTP_AUTHORIZATION") or query.get("X-Amz-Credential", [""])[0]
    match = _CREDENTIAL.search(scope if "Credential=" in scope else f"Credential={scope}")
    if match is None:
        return None
    access_key, region, service = match.groups()
    return access_key, region, service.lower()


def _unsigned_service(environ: Environ, path: str) -> str:
    """Best guess for unsigned calls: an AWS host name, else moto's own path convention."""
    host = environ.get("HTTP_HOST", "").rsplit(":", 1)[0]
    if ".s3." in host or host.startswith("s3."):
        return "s3"
    if host.endswith(".amazonaws.com"):
        return host.split(".", 1)[0]
    match = _MOTO_INTERNAL_PATH.match(path)
    return match.group(1) if match else "unknown"


def _virtual_host_bucket(environ: Environ) -> str | None:
    host = environ.get("HTTP_HOST", "").rsplit(":", 1)[0]
    if host.endswith(".localhost"):
        return host.removesuffix(".localhost")
    for marker in (".s3.", ".s3-"):
        if marker in host:
            return host.split(marker, 1)[0]
    return None


def _s3_bucket_and_key(environ: Environ, path: str) -> tuple[str | None, str | None]:
    bucket = _virtual_host_bucket(environ)
    rest = path.lstrip("/")
    if bucket is None:
        bucket, _unused, rest = rest.partition("/")
    return bucket or None, rest or None


def _s3_subresource(table: dict[str, tuple[str | None, ...]], method: str,
                    query: dict[str, list[str]]) -> tuple[bool, str | None]:
    """(whether a known sub-resource is addressed, its operation for ``method``)."""
    for name, operations in table.items():
        if name in query:
            by_method = dict(zip(("GET", "PUT", "DELETE"), operations, strict=True))
            return True, by_method.get(method)
    return False, None


def _s3_bucket_operation(method: str, query: dict[str, list[str]]) -> str | None:
    found, operation = _s3_subresource(_S3_BUCKET_SUBRESOURCES, method, query)
    if found:
        return operation
    if method == "GET":
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return _S3_PLAIN_BUCKET.get(method)


def _s3_object_operation(method: str, query: dict[str, list[str]], copy: bool) -> str | None:
    found, operation = _s3_subresource(_S3_OBJECT_SUBRESOURCES, method, query)
    if found:
        return operation
    if "uploadId" in query:
        if method == "PUT":
            return "UploadPartCopy" if copy else "UploadPart"
        return _S3_MULTIPART_PART.get(method)
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if method == "POST" and "restore" in query:
        return "RestoreObject"
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    return _S3_PLAIN_OBJECT.get(method)


def _s3_operation(environ: Environ, method: str, path: str, query: dict[str, list[str]]) -> str | None:
    bucket, key = _s3_bucket_and_key(environ, path)
    if bucket is None:
        return "ListBuckets" if method == "GET" else None
    if key is None:
        return _s3_bucket_operation(method, query)
    return _s3_object_operation(method, query, "HTTP_X_AMZ_COPY_SOURCE" in environ)


def _operation(environ: Environ, service: str, method: str, path: str,
               query: dict[str, list[str]]) -> str:
    """The AWS operation name, or ``"<METHOD> <path>"`` when the request does not say."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:  # JSON protocol: "AmazonSSM.GetParameter"
        return target.rsplit(".", 1)[-1]
    rpc = _RPC_V2_PATH.match(path)
    if rpc:
        return rpc.group(1)
    action = query.get("Action") or ([] if service == "s3" else read_form_body(environ).get("Action"))
    if action:
        return action[0]
    named = _s3_operation(environ, method, path, query) if service == "s3" else None
    return named or f"{method} {path}"


def describe_request(environ: Environ) -> dict[str, Any] | None:
    """What to record about one request; None for requests that are not AWS API calls."""
    path = _wsgi_text(environ.get("PATH_INFO", "") or "/")
    if path.startswith(_NOT_RECORDED_PREFIXES):
        return None
    signed = "HTTP_AUTHORIZATION" in environ
    if not signed and path.startswith(_METADATA_PREFIXES):
        return None
    method = environ.get("REQUEST_METHOD", "GET").upper()
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    scope = _signature_scope(environ, query)
    access_key, region, service = scope or (None, None, _unsigned_service(environ, path))
    operation = _operation(environ, service, method, path, query)
    if service == "unknown" and operation in UNSIGNED_ACTIONS:  # e.g. AssumeRoleWithWebIdentity
        service = UNSIGNED_ACTIONS[operation][0]
    return {
        "time": time.monotonic(),
        "service": service,
        "operation": operation,
        "region": region,
        "access_key": access_key,
        "method": method,
        "path": path,
    }


# --- the recorder ---------------------------------------------------------------------------

class CallRecorder:
    """WSGI middleware: records each AWS call and serves the recorder endpoints."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._calls = Journal(CALLS_PATH, RESET_CALLS_PATH)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == BAD_DAY_PATH or path.startswith(AUTHORIZATIONS_PATH):
            # The bad-day layer's and the authorizer's own endpoints: not AWS calls either.
            return self._app(environ, start_response)
        if path.startswith(OWN_PREFIX):
            method = environ.get("REQUEST_METHOD", "GET").upper()
            return send(self._calls.answer(method, path), start_response)
        record = describe_request(environ)
        if record is None:
            return self._app(environ, start_response)
        # The bad-day layer behind this one reads the description and marks the faults it injects.
        environ[CALL_KEY] = record
        return self._record_and_forward(record, environ, start_response)

    def _record_and_forward(self, record: dict[str, Any], environ: Environ,
                            start_response: StartResponse) -> Iterable[bytes]:
        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            record["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self._app(environ, recording_start_response)
        except Exception:
            record["status"] = 500
            raise
        finally:
            self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        record.setdefault("status", 500)
        self._calls.append(record)


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


# --- process --------------------------------------------------------------------------------

def _loopback_host(value: str) -> str:
    if value != "localhost" and not ipaddress.ip_address(value).is_loopback:
        raise argparse.ArgumentTypeError(f"{value} is not a loopback address")
    return value


def _bad_day_spec(value: str) -> str:
    try:
        parse_spec(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return value


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", type=_loopback_host, default="127.0.0.1",
                        help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--port-file", type=Path,
                        help="written with the bound port once the server accepts connections")
    parser.add_argument("--preload", default="",
                        help="comma-separated moto services to load before listening, e.g. iam,ec2")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    parser.add_argument("--bad-day", default="off", type=_bad_day_spec,
                        help="AWS on a bad day (sandbox/bad_day.py): off (default), realistic, or "
                        "name=value items, e.g. realistic,iam-consistency=5")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when the parent process goes away (test harnesses)")
    return parser.parse_args(argv)


_LAUNCHED_ID = re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")
_MAPPING_DEVICE = re.compile(r"^(BlockDeviceMapping\.\d+)\.DeviceName$")
_EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


class Ec2Gaps:
    """EC2 behaviours moto 5.2 lacks and keyless.aws.ec2_instance uses, played on moto's objects.

    - RunInstances ignores ``DisableApiTermination=true`` (moto launches the instance
      unprotected); AWS launches it protected. Set on the launched instances after moto answers.
    - RunInstances ignores ``Placement.GroupName`` (moto has no placement groups) and the
      ``Iops`` and ``Throughput`` of a block device mapping (its volumes get none). AWS shows the
      group in the instance's ``Placement`` and the volume's IOPS and throughput in
      DescribeVolumes: set on the launched instances and their volumes after moto answers. (The
      sandbox does not check that the group exists, and io1/io2, whose IOPS moto requires of
      CreateVolume, are still refused by moto.)
    - MonitorInstances and UnmonitorInstances are not implemented (a 500). AWS turns detailed
      monitoring on or off and answers each instance's new state, ``pending`` or ``disabling``
      (EC2 API Reference); here the change is immediate, like every moto state change.
    Everything else passes through untouched.
    """

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        call = environ.get(CALL_KEY) or {}
        operation = call.get("operation")
        if call.get("service") != "ec2" or operation not in ("RunInstances", *_MONITORING):
            return self._app(environ, start_response)
        params = request_params(environ)
        if operation == "RunInstances":
            return self._launch(environ, start_response, call["region"], params)
        return self._monitoring(start_response, call["region"], operation, numbered(params, "InstanceId"))

    def _launch(self, environ: Environ, start_response: StartResponse, region: str,
                params: dict[str, str]) -> Iterable[bytes]:
        group = params.get("Placement.GroupName")
        volumes = _volume_performance(params)
        protected = params.get("DisableApiTermination") == "true"
        if not (protected or group or volumes):
            return self._app(environ, start_response)
        answer = forward(self._app, environ)
        if group:
            # The answer shows each launched instance in its group, as DescribeInstances does now.
            shown = f"<placement><groupName>{xml_escape(group)}</groupName>".encode()
            answer = with_body(answer, answer.body.replace(b"<placement><groupName/>", shown))
        for instance_id in _LAUNCHED_ID.findall(answer.body.decode("utf-8", "replace")):
            instance = find_instance(region, instance_id)
            if instance is None:
                continue
            if protected:
                instance.disable_api_termination = True
            if group:
                instance.placement.group_name = group
            for device, (iops, throughput) in volumes.items():
                mapping = instance.block_device_mapping.get(device)
                if mapping is not None:
                    volume = instance.ec2_backend.get_volume(mapping.volume_id)
                    volume.iops = iops if iops is not None else volume.iops
                    volume.throughput = throughput if throughput is not None else volume.throughput
        return send(answer, start_response)

    @staticmethod
    def _monitoring(start_response: StartResponse, region: str, operation: str,
                    instance_ids: list[str]) -> list[bytes]:
        stored, answered = _MONITORING[operation]
        items = []
        for instance_id in instance_ids:
            instance = find_instance(region, instance_id)
            if instance is None:
                answer = error_answer("ec2", 400, "InvalidInstanceID.NotFound",
                                      f"The instance ID '{instance_id}' does not exist")
                return send(answer, start_response)
            instance.monitoring_state = stored
            items.append(f"<item><instanceId>{instance_id}</instanceId>"
                         f"<monitoring><state>{answered}</state></monitoring></item>")
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{operation}Response xmlns="{_EC2_NS}">'
                f"<requestId>{uuid.uuid4()}</requestId><instancesSet>{''.join(items)}</instancesSet>"
                f"</{operation}Response>").encode()
        return send(Answer(200, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body),
                    start_response)


def _volume_performance(params: dict[str, str]) -> dict[str, tuple[int | None, int | None]]:
    """{device name: (Iops, Throughput)} of RunInstances' block device mappings that give one."""
    found: dict[str, tuple[int | None, int | None]] = {}
    for key, device in params.items():
        match = _MAPPING_DEVICE.match(key)
        if match is None:
            continue
        iops, throughput = (params.get(f"{match.group(1)}.Ebs.{member}") for member in ("Iops", "Throughput"))
        if iops is not None or throughput is not None:
            found[device] = (_number(iops), _number(throughput))
    return found


def _number(value: str | None) -> int | None:
    return None if value is None else int(value)


# What moto stores, and what EC2 answers right after the call.
_MONITORING = {"MonitorInstances": ("enabled", "pending"), "UnmonitorInstances": ("disabled", "disabling")}


def build_app(preload: list[str], bad_day: str = "off") -> CallRecorder:
    dispatcher = DomainDispatcherApplication(create_backend_app)
    for service in preload:
        # Importing a backend takes up to a second (ec2); pay it before the first call.
        dispatcher.app_instances[service] = create_backend_app(service)
    return CallRecorder(BadDay(AwsAuthorizer(Ec2Gaps(dispatcher)), parse_spec(bad_day)))


def _write_port_file(path: Path, port: int) -> None:
    """Atomic, so a reader never sees an empty or partial file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(f"{port}\n")
    partial.replace(path)


def _install_stop_signals(stop: threading.Event) -> None:
    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _wait_for_stop(stop: threading.Event, exit_with_parent: bool) -> None:
    parent = os.getppid()
    while not stop.wait(0.2):
        if exit_with_parent and os.getppid() != parent:
            return


def serve(server: BaseWSGIServer, args: argparse.Namespace) -> None:
    stop = threading.Event()
    _install_stop_signals(stop)
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="aws-server", daemon=True)
    worker.start()
    try:
        if args.port_file:
            _write_port_file(args.port_file, server.server_port)
        print(f"aws_server listening on http://{args.host}:{server.server_port}", flush=True)
        _wait_for_stop(stop, args.exit_with_parent)
    finally:
        server.shutdown()
        server.server_close()
        worker.join(timeout=5)
        if args.port_file:
            args.port_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    app = build_app([name.strip() for name in args.preload.split(",") if name.strip()], args.bad_day)
    handler = QuietRequestHandler if args.quiet else MotoRequestHandler
    server = make_server(args.host, args.port, app, threaded=True, request_handler=handler)
    # moto builds some URLs (e.g. S3 presigned redirects) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.server_port)
    serve(server, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
