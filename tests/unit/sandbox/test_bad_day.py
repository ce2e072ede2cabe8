"""sandbox/bad_day.py: AWS on a bad day, played in front of moto.

In process: ``aws_server.build_app`` (the call recorder, the layer, moto) driven by werkzeug's test
client with query-protocol requests and SigV4-looking Authorization headers, as botocore sends
them. Windows are a few tenths of a second on the layer's clock, which only the test moves: a
loaded machine cannot push a call out of the window it is meant to fall in. Where a real
connection is needed (an answer dropped after the request was carried out, and botocore sending
it again) a real server and real boto3.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import aws_server
import awscalls
import bad_day
import boto3
import launcher
import pytest
from bad_day import BadDaySpec, parse_spec
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

WINDOW = 0.3
VERSIONS = {"iam": "2010-05-08", "ec2": "2016-11-15"}
HOSTS = {"iam": "iam.amazonaws.com", "ec2": "ec2.us-east-1.amazonaws.com"}
# What botocore sends: its own agent, plus app/ID when AWS_SDK_UA_APP_ID is set.
PLAYBOOK_AGENT = "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux lang/python#3.11.2 cfg/retry-mode#standard"
HARNESS_AGENT = f"{PLAYBOOK_AGENT} app/{bad_day.HARNESS_APP_ID}"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
IMAGE = "ami-785db401"


@dataclass
class Reply:
    status: int
    body: str

    @property
    def code(self) -> str | None:
        match = re.search(r"<Code>([^<]+)</Code>", self.body)
        return match.group(1) if match else None

    @property
    def message(self) -> str:
        match = re.search(r"<Message>([^<]*)</Message>", self.body)
        return match.group(1) if match else ""

    def values(self, tag: str) -> list[str]:
        return re.findall(rf"<{tag}>([^<]*)</{tag}>", self.body)


class Aws:
    """The sandbox's AWS in process: ``aws("iam", "CreateRole", RoleName=...)``."""

    def __init__(self, app: Any) -> None:
        self.client = Client(app)

    def __call__(self, service: str, action: str, agent: str = PLAYBOOK_AGENT, **params: Any) -> Reply:
        authorization = (
            f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261202/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0000"
        )
        response = self.client.post(
            "/",
            data=urlencode({"Action": action, "Version": VERSIONS[service], **params}),
            headers={
                "Authorization": authorization,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Host": HOSTS[service],
                "User-Agent": agent,
            },
        )
        return Reply(response.status_code, response.get_data(as_text=True))

    def control(self, spec: str | None = None) -> tuple[int, Any]:
        response = self.client.open(
            awscalls.BAD_DAY_PATH, method="GET" if spec is None else "POST", data=spec
        )
        body = response.get_data(as_text=True)
        return response.status_code, json.loads(body) if response.status_code == 200 else body

    def reset(self) -> None:
        assert self.client.post(awscalls.MOTO_RESET_PATH).status_code == 200

    def calls(self) -> list[dict[str, Any]]:
        return json.loads(self.client.get(awscalls.CALLS_PATH).get_data(as_text=True))

    # A few calls the tests repeat.
    def create_role(self, name: str = "r", agent: str = PLAYBOOK_AGENT) -> Reply:
        return self("iam", "CreateRole", agent, RoleName=name, AssumeRolePolicyDocument=TRUST)

    def launch(self, agent: str = PLAYBOOK_AGENT, **params: Any) -> Reply:
        return self("ec2", "RunInstances", agent, ImageId=IMAGE, MinCount=1, MaxCount=1, **params)

    def state(self, instance_id: str) -> str:
        reply = self("ec2", "DescribeInstances", HARNESS_AGENT, **{"InstanceId.1": instance_id})
        return re.findall(r"<instanceState>\s*<code>\d+</code>\s*<name>([a-z-]+)</name>", reply.body)[0]

    def instance_ids(self) -> list[str]:
        return sorted(set(self("ec2", "DescribeInstances", HARNESS_AGENT).values("instanceId")))


class LayerClock:
    """``time`` as the layer sees it: still until ``settle()`` moves it past a window."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def settle(self) -> None:
        """Just past a window of ``WINDOW`` seconds."""
        self.now += WINDOW + 0.01


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> LayerClock:
    layer_clock = LayerClock()
    monkeypatch.setattr(bad_day, "time", layer_clock)
    return layer_clock


@pytest.fixture
def aws(clock: LayerClock) -> Iterator[Any]:
    """``aws(spec)``: an app with that bad-day spec on an empty moto (moto's backends are global)."""
    made: list[Aws] = []

    def make(spec: str) -> Aws:
        made.append(Aws(aws_server.build_app(["iam", "ec2"], spec)))
        made[-1].reset()
        return made[-1]

    yield make
    for each in made:
        each.reset()


# --- parse_spec ---------------------------------------------------------------------------------


def test_off_and_an_empty_spec_are_the_kind_aws() -> None:
    assert parse_spec("off") == parse_spec("") == BadDaySpec()
    assert not parse_spec("off").active


def test_a_profile_then_items_that_override_it() -> None:
    spec = parse_spec("realistic, iam-consistency=5,lost-operations=RunInstances+CreateRole")
    expected = replace(
        bad_day.PROFILES["realistic"], iam_consistency=5.0, lost_operations=("RunInstances", "CreateRole")
    )
    assert spec == expected
    assert spec.active


def test_one_behaviour_alone_is_active() -> None:
    assert parse_spec("server-error=7").active
    assert parse_spec("refusals=on").refusals is True


def test_a_spec_reads_back_from_its_text() -> None:
    spec = parse_spec("realistic,throttle-burst=3,lost-operations=RunInstances")
    assert parse_spec(spec.text()) == spec


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("sunny", "unknown profile 'sunny'"),
        ("latency=3", "unknown behaviour 'latency'"),
        ("throttle=-1", "throttle: must not be negative"),
        ("iam-consistency=soon", "could not convert string to float"),
        ("throttle=2.5", "invalid literal for int"),
        ("refusals=maybe", "refusals: on or off"),
        ("throttle-burst=0", "throttle-burst: at least 1"),
        ("lost-response=1", "lost-response: 1 would drop every retry too"),
    ],
)
def test_unknown_names_and_bad_values_are_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        parse_spec(text)


# --- IAM eventual consistency ------------------------------------------------------------------


def test_a_new_role_is_not_found_inside_the_window_and_found_after(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"iam-consistency={WINDOW}")
    assert sandbox.create_role().status == 200
    inside = sandbox("iam", "GetRole", RoleName="r")
    assert (inside.status, inside.code, inside.message) == (
        404,
        "NoSuchEntity",
        "The role with name r cannot be found.",
    )
    clock.settle()
    assert sandbox("iam", "GetRole", RoleName="r").status == 200


def test_a_write_that_depends_on_a_new_role_fails_and_does_not_reach_moto(
    aws: Any, clock: LayerClock
) -> None:
    sandbox = aws(f"iam-consistency={WINDOW}")
    sandbox.create_role()
    put = sandbox("iam", "PutRolePolicy", RoleName="r", PolicyName="p", PolicyDocument=TRUST)
    assert (put.status, put.code) == (404, "NoSuchEntity")
    clock.settle()
    assert sandbox("iam", "ListRolePolicies", RoleName="r").values("member") == []


def test_a_role_added_to_a_profile_makes_the_profile_new_again(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"iam-consistency={WINDOW}")
    sandbox.create_role()
    sandbox("iam", "CreateInstanceProfile", InstanceProfileName="p")
    clock.settle()
    assert sandbox("iam", "AddRoleToInstanceProfile", InstanceProfileName="p", RoleName="r").status == 200
    assert sandbox("iam", "GetInstanceProfile", InstanceProfileName="p").code == "NoSuchEntity"
    assert sandbox("iam", "GetRole", RoleName="r").status == 200


def test_ec2_does_not_know_a_new_profile_by_name_or_arn(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"iam-consistency={WINDOW}")
    arn = sandbox("iam", "CreateInstanceProfile", InstanceProfileName="p").values("Arn")[0]
    by_name = sandbox.launch(**{"IamInstanceProfile.Name": "p"})
    assert (by_name.status, by_name.code, by_name.message) == (
        400,
        "InvalidParameterValue",
        "Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
    )
    by_arn = sandbox.launch(**{"IamInstanceProfile.Arn": arn})
    assert by_arn.message.endswith("Invalid IAM Instance Profile arn")
    assert sandbox.instance_ids() == []
    clock.settle()
    assert sandbox.launch(**{"IamInstanceProfile.Name": "p"}).status == 200


def test_associating_a_new_profile_is_refused_inside_the_window(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"iam-consistency={WINDOW}")
    (instance_id,) = sandbox.launch().values("instanceId")
    sandbox("iam", "CreateInstanceProfile", InstanceProfileName="p")
    refused = sandbox(
        "ec2", "AssociateIamInstanceProfile", InstanceId=instance_id, **{"IamInstanceProfile.Name": "p"}
    )
    assert (refused.code, refused.message.endswith("Invalid IAM Instance Profile name")) == (
        "InvalidParameterValue",
        True,
    )
    clock.settle()
    assert (
        sandbox(
            "ec2", "AssociateIamInstanceProfile", InstanceId=instance_id, **{"IamInstanceProfile.Name": "p"}
        ).status
        == 200
    )


# --- EC2 instance states -----------------------------------------------------------------------


def test_a_new_instance_is_pending_then_running(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"ec2-pending={WINDOW}")
    launched = sandbox.launch()
    (instance_id,) = launched.values("instanceId")
    assert launched.values("name")[0] == "pending"
    assert sandbox.state(instance_id) == "pending"
    clock.settle()
    assert sandbox.state(instance_id) == "running"


def test_stopping_a_pending_instance_is_refused(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"ec2-pending={WINDOW}")
    (instance_id,) = sandbox.launch().values("instanceId")
    stop = sandbox("ec2", "StopInstances", **{"InstanceId.1": instance_id})
    assert (stop.status, stop.code, stop.message) == (
        400,
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a state from which it can be stopped.",
    )
    clock.settle()
    assert sandbox("ec2", "StopInstances", **{"InstanceId.1": instance_id}).status == 200


def test_a_stopping_instance_cannot_start_until_stopped(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"ec2-stopping={WINDOW}")
    (instance_id,) = sandbox.launch().values("instanceId")
    sandbox("ec2", "StopInstances", **{"InstanceId.1": instance_id})
    assert sandbox.state(instance_id) == "stopping"
    start = sandbox("ec2", "StartInstances", **{"InstanceId.1": instance_id})
    assert (start.code, start.message) == (
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a state from which it can be started.",
    )
    clock.settle()
    assert sandbox.state(instance_id) == "stopped"
    assert sandbox("ec2", "StartInstances", **{"InstanceId.1": instance_id}).status == 200


def test_a_terminated_instance_is_shutting_down_first(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"ec2-shutting-down={WINDOW}")
    (instance_id,) = sandbox.launch().values("instanceId")
    sandbox("ec2", "TerminateInstances", **{"InstanceId.1": instance_id})
    assert sandbox.state(instance_id) == "shutting-down"
    clock.settle()
    assert sandbox.state(instance_id) == "terminated"


def test_without_the_behaviour_states_change_at_once(aws: Any) -> None:
    sandbox = aws("ec2-stopping=5")
    (instance_id,) = sandbox.launch().values("instanceId")
    assert sandbox.state(instance_id) == "running"


# --- throttling and server errors --------------------------------------------------------------


def test_every_nth_call_starts_a_burst_of_throttled_answers(aws: Any) -> None:
    sandbox = aws("throttle=3,throttle-burst=2")
    codes = [sandbox("iam", "ListRoles").code for _call in range(8)]
    assert codes == [None, None, "Throttling", "Throttling", None, "Throttling", "Throttling", None]


def test_ec2_is_throttled_with_its_own_code_and_status(aws: Any) -> None:
    sandbox = aws("throttle=1")
    throttled = sandbox("ec2", "DescribeInstances")
    assert (throttled.status, throttled.code) == (503, "RequestLimitExceeded")


def test_every_nth_call_is_a_server_error(aws: Any) -> None:
    sandbox = aws("server-error=2")
    replies = [sandbox("iam", "ListRoles") for _call in range(4)] + [
        sandbox("ec2", "DescribeInstances") for _call in range(2)
    ]
    assert [(reply.status, reply.code) for reply in replies] == [
        (200, None),
        (500, "ServiceFailure"),
        (200, None),
        (500, "ServiceFailure"),
        (200, None),
        (500, "InternalError"),
    ]


def test_a_faulted_call_is_marked_in_the_call_record(aws: Any) -> None:
    sandbox = aws("throttle=2,server-error=3")
    for _call in range(3):
        sandbox("iam", "ListRoles")
    assert [call.get("fault") for call in sandbox.calls()] == [None, "throttle", "server-error"]


def test_the_harness_agent_meets_a_kind_aws(aws: Any) -> None:
    sandbox = aws(f"throttle=1,server-error=1,iam-consistency={WINDOW},ec2-pending={WINDOW}")
    assert sandbox.create_role(agent=HARNESS_AGENT).status == 200
    assert sandbox("iam", "GetRole", HARNESS_AGENT, RoleName="r").status == 200
    assert sandbox("iam", "GetRole", RoleName="r").code == "Throttling"
    # The state of the world is the same for everyone: the harness sees the instance pending.
    (instance_id,) = sandbox.launch(agent=HARNESS_AGENT).values("instanceId")
    assert sandbox.state(instance_id) == "pending"


# --- lost responses and ClientToken ------------------------------------------------------------


@pytest.fixture(scope="module")
def lossy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launcher.Service]:
    # Loading moto's EC2 backend before listening took over 30 s on a loaded 2-core machine.
    server = launcher.start_aws_server(
        tmp_path_factory.mktemp("lossy"),
        preload="iam,ec2",
        bad_day="lost-response=3,lost-operations=CreateRole+RunInstances",
        timeout=180,
    )
    try:
        yield server
    finally:
        server.stop()


def playbook_client(service: str, endpoint: str) -> Any:
    """boto3 as a playbook's module runs it: without the harness's app id, so not exempt."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="not-a-real-secret-key",
        config=Config(user_agent_appid="keyless-under-test", retries={"mode": "standard", "max_attempts": 3}),
    )


def test_a_lost_create_answer_was_carried_out_once(lossy_server: launcher.Service) -> None:
    awscalls.reset_all(lossy_server.url)
    iam = playbook_client("iam", lossy_server.url)
    # botocore sends the create again after the connection closed: the role is already there.
    with pytest.raises(ClientError) as raised:
        iam.create_role(RoleName="lost", AssumeRolePolicyDocument=TRUST)
    assert raised.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert [role["RoleName"] for role in iam.list_roles()["Roles"]] == ["lost"]
    creates = [call for call in awscalls.fetch_calls(lossy_server.url) if call["operation"] == "CreateRole"]
    assert [call.get("fault") for call in creates] == ["lost-response", None]
    # Not every call is lost: the 1st, 4th, 7th... are (lost-response=3).
    assert iam.create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST)["Role"]["RoleName"] == "kept"


def test_a_lost_launch_sent_again_with_its_token_is_one_instance(lossy_server: launcher.Service) -> None:
    awscalls.reset_all(lossy_server.url)
    ec2 = playbook_client("ec2", lossy_server.url)
    launched = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="lost-launch")
    reservations = ec2.describe_instances()["Reservations"]
    assert [i["InstanceId"] for r in reservations for i in r["Instances"]] == [
        launched["Instances"][0]["InstanceId"]
    ]
    launches = [
        call for call in awscalls.fetch_calls(lossy_server.url) if call["operation"] == "RunInstances"
    ]
    assert [(call.get("fault"), call.get("replayed")) for call in launches] == [
        ("lost-response", None),
        (None, True),
    ]
    assert awscalls.bad_day(lossy_server.url)["faults"]["lost-response"] >= 1


def test_a_replayed_token_answers_the_instance_as_it_is_now(aws: Any, clock: LayerClock) -> None:
    sandbox = aws(f"ec2-pending={WINDOW}")
    first = sandbox.launch(ClientToken="t-1")
    (instance_id,) = first.values("instanceId")
    clock.settle()
    again = sandbox.launch(ClientToken="t-1")
    assert again.values("instanceId") == [instance_id]
    assert again.values("reservationId") == first.values("reservationId")
    assert (first.values("name")[0], again.values("name")[0]) == ("pending", "running")
    assert sandbox.instance_ids() == [instance_id]


def test_a_token_with_other_parameters_is_a_mismatch(aws: Any) -> None:
    sandbox = aws(f"ec2-pending={WINDOW}")
    sandbox.launch(ClientToken="t-1")
    other = sandbox.launch(ClientToken="t-1", InstanceType="t3.micro")
    assert (other.status, other.code) == (400, "IdempotentParameterMismatch")
    assert len(sandbox.instance_ids()) == 1


class SlowLaunch:
    """moto taking its time over RunInstances, so that a second request arrives meanwhile."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.launches = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ[bad_day.CALL_KEY]["operation"] == "RunInstances":
            self.launches += 1
            time.sleep(WINDOW)
        return self.app(environ, start_response)


def test_two_launches_with_one_token_at_once_start_one_instance(aws: Any) -> None:
    aws("off")  # an empty moto, reset again afterwards
    moto = SlowLaunch(DomainDispatcherApplication(create_backend_app))
    sandbox = Aws(aws_server.CallRecorder(bad_day.BadDay(moto, parse_spec(f"ec2-pending={WINDOW}"))))
    answers: list[list[str]] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(sandbox.launch(ClientToken="t-2").values("instanceId"))
        )
        for _call in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert moto.launches == 1
    assert answers[0] == answers[1]
    assert sandbox.instance_ids() == answers[0]


# --- refusals ------------------------------------------------------------------------------------


def test_aws_tag_keys_are_refused_on_ec2_tag_calls(aws: Any) -> None:
    sandbox = aws("refusals=on")
    (instance_id,) = sandbox.launch().values("instanceId")
    for action in ("CreateTags", "DeleteTags"):
        refused = sandbox(
            "ec2",
            action,
            HARNESS_AGENT,
            **{"ResourceId.1": instance_id, "Tag.1.Key": "aws:owner", "Tag.1.Value": "x"},
        )
        assert (refused.status, refused.code, refused.message) == (
            400,
            "InvalidParameterValue",
            "Value ( aws:owner ) for parameter key is invalid. "
            "Tag keys starting with 'aws:' are reserved for internal use",
        ), action
    allowed = sandbox(
        "ec2", "CreateTags", **{"ResourceId.1": instance_id, "Tag.1.Key": "owner", "Tag.1.Value": "x"}
    )
    assert allowed.status == 200


def test_aws_tag_keys_are_refused_on_iam_tag_calls(aws: Any) -> None:
    sandbox = aws("refusals=on")
    sandbox.create_role()
    tag = sandbox(
        "iam", "TagRole", RoleName="r", **{"Tags.member.1.Key": "AWS:team", "Tags.member.1.Value": "x"}
    )
    untag = sandbox("iam", "UntagRole", RoleName="r", **{"TagKeys.member.1": "aws:cloudformation:stack-name"})
    assert [(tag.status, tag.code), (untag.status, untag.code)] == [(400, "InvalidInput")] * 2
    assert sandbox("iam", "ListRoleTags", RoleName="r").values("Key") == []


def test_user_data_that_is_not_base64_is_refused(aws: Any) -> None:
    sandbox = aws("refusals=on")
    refused = sandbox.launch(UserData="#!/bin/sh\necho hello\n")
    assert (refused.code, refused.message) == (
        "InvalidParameterValue",
        "Invalid BASE64 encoding of user data.",
    )
    assert sandbox.launch(UserData="IyEvYmluL3NoCmVjaG8gaGVsbG8K").status == 200


# --- control endpoint and reset ----------------------------------------------------------------


def test_the_control_endpoint_reports_and_replaces_the_spec(aws: Any) -> None:
    sandbox = aws("throttle=1")
    sandbox("iam", "ListRoles")
    status, report = sandbox.control()
    assert (status, report["spec"], report["active"], report["faults"]) == (
        200,
        parse_spec("throttle=1").text(),
        True,
        {"throttle": 1},
    )
    status, report = sandbox.control("off")
    assert (status, report["active"], report["faults"]) == (200, False, {"throttle": 1})
    assert sandbox("iam", "ListRoles").status == 200


def test_the_control_endpoint_is_not_recorded_as_an_aws_call(aws: Any) -> None:
    sandbox = aws("off")
    sandbox.control("throttle=1")
    sandbox.control()
    assert sandbox.calls() == []


def test_a_bad_spec_posted_is_refused_and_changes_nothing(aws: Any) -> None:
    sandbox = aws("server-error=5")
    status, text = sandbox.control("server-error=5,weather=stormy")
    assert (status, text) == (
        400,
        "bad-day: unknown behaviour 'weather'; known: "
        + ", ".join(name.replace("_", "-") for name in vars(BadDaySpec()))
        + "\n",
    )
    assert sandbox.control()[1]["spec"] == parse_spec("server-error=5").text()


def test_moto_reset_forgets_the_new_entities(aws: Any) -> None:
    sandbox = aws("off")
    sandbox.control(f"iam-consistency={WINDOW * 10}")
    sandbox.create_role()
    sandbox.reset()
    # The same role again, created while the layer does not track creations, then tracking on.
    sandbox.control("off")
    sandbox.create_role()
    sandbox.control(f"iam-consistency={WINDOW * 10}")
    assert sandbox("iam", "GetRole", RoleName="r").status == 200


def test_moto_reset_forgets_the_tokens(aws: Any) -> None:
    sandbox = aws("ec2-pending=5")
    sandbox.launch(ClientToken="t-3")
    sandbox.reset()
    again = sandbox.launch(ClientToken="t-3")
    assert again.status == 200
    assert sandbox.instance_ids() == again.values("instanceId")


def test_aws_server_refuses_a_bad_spec_when_started(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        aws_server._parse_args(["--bad-day", "realistic,throttle=often"])
    assert "argument --bad-day: invalid literal for int() with base 10: 'often'" in capsys.readouterr().err
