from __future__ import annotations

import base64
import copy
import functools
import re

import pytest
from botocore.exceptions import ClientError

from ansible_collections.keyless.aws.plugins.module_utils import _ec2, _plan
from ansible_collections.keyless.aws.plugins.module_utils import _ec2_instance as inst
from ansible_collections.keyless.aws.plugins.module_utils._errors import (
    KeylessAwsError,
    ValidationError,
    translate,
)
from ansible_collections.keyless.aws.plugins.module_utils._retry import RetryPolicy

TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
AMI = "ami-12c6146b"


def params(**overrides):
    base = {key: option.get("default") for key, option in inst.OPTIONS.items()}
    base.update(name="web", image_id=AMI, instance_profile="web-profile")
    base.update(overrides)
    return base


def current(**overrides):
    view = {
        "instance_id": "i-0123456789abcdef0",
        "state": "running",
        "image_id": AMI,
        "instance_type": "t3.micro",
        "key_name": None,
        "subnet_id": "subnet-12345678",
        "iam_instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/web-profile",
        "metadata_options": {
            "http_tokens": "required",
            "http_put_response_hop_limit": 1,
            "http_endpoint": "enabled",
        },
        "tags": {"Name": "web"},
    }
    view.update(overrides)
    return view


def ops(actions):
    return [action.operation for action in actions]


# --- pure decisions ---------------------------------------------------------------------


def test_create_defaults_to_imdsv2_required_and_one_hop():
    actions, predicted = inst.plan_create(inst.desired_instance(params()))
    request = actions[0].args["request"]
    assert request["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
        "HttpEndpoint": "enabled",
    }
    assert request["IamInstanceProfile"] == {"Name": "web-profile"}
    assert {"Key": "Name", "Value": "web"} in request["TagSpecifications"][0]["Tags"]
    assert predicted["metadata_options"]["http_tokens"] == "required"


def test_create_needs_an_image():
    with pytest.raises(ValidationError, match="image_id: is required to launch instance web"):
        inst.plan_create(inst.desired_instance(params(image_id=None)))


def test_metadata_only_user_set_options_compared_and_tokens_never_dropped():
    state = current()["metadata_options"]
    assert inst.metadata_change(state, {}) is None
    assert inst.metadata_change(state, {"http_put_response_hop_limit": 1}) is None
    change = inst.metadata_change(state, {"http_put_response_hop_limit": 2})
    assert change == {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"}
    downgrade = inst.metadata_change(state, {"http_tokens": "optional"})
    assert downgrade["HttpTokens"] == "optional"


@pytest.mark.parametrize(
    ("arn", "wanted", "expected"),
    [
        ("arn:aws:iam::1:instance-profile/web-profile", "web-profile", True),
        ("arn:aws:iam::1:instance-profile/path/web-profile", "web-profile", True),
        ("arn:aws:iam::1:instance-profile/other", "web-profile", False),
        (None, "web-profile", False),
        ("arn:aws:iam::1:instance-profile/p", "arn:aws:iam::1:instance-profile/p", True),
    ],
)
def test_profile_matching(arn, wanted, expected):
    assert inst.profile_matches(arn, wanted) is expected


def test_update_associates_replaces_and_powers():
    desired = inst.desired_instance(params())
    assert inst.plan_update(current(), desired)[0] == []
    actions, _unused = inst.plan_update(current(iam_instance_profile_arn=None), desired)
    assert ops(actions) == ["AssociateIamInstanceProfile"]
    actions, predicted = inst.plan_update(
        current(iam_instance_profile_arn="arn:aws:iam::1:instance-profile/x"), desired
    )
    assert ops(actions) == ["ReplaceIamInstanceProfileAssociation"]
    assert predicted["iam_instance_profile_arn"] == "web-profile"
    actions, predicted = inst.plan_update(current(), inst.desired_instance(params(state="stopped")))
    assert (ops(actions), predicted["state"]) == (["StopInstances"], "stopped")
    actions, _unused = inst.plan_update(current(state="stopped"), desired)
    assert ops(actions) == ["StartInstances"]
    actions, _unused = inst.plan_update(current(), inst.desired_instance(params(state="absent")))
    assert ops(actions) == ["TerminateInstances"]


def test_tags_keep_name():
    desired = inst.desired_instance(params(tags={"env": "dev"}))
    actions, predicted = inst.plan_update(current(tags={"Name": "web", "old": "x"}), desired)
    assert ops(actions) == ["DeleteTags", "CreateTags"]
    assert predicted["tags"] == {"Name": "web", "env": "dev"}


def test_drift_is_warned_not_changed():
    desired = inst.desired_instance(params(instance_type="m5.large"))
    actions, _unused = inst.plan_update(current(), desired)
    assert actions == []
    assert inst.drift_warnings(current(), desired) == [
        "instance_type is 't3.micro', not 'm5.large'; it is not changed in place"
    ]


NAME_CHARS = "must contain only ASCII letters, digits and _+=,.@-"
NAME_TAG = "name: must be 1 to 256 characters (it is the Name tag)"
RESERVED_TAG = (
    'key must not start with "aws:": AWS reserves it for the tags it sets itself '
    "(such as aws:cloudformation:stack-name), which nobody can add, change or remove"
)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_id": "ubuntu"}, "image_id: must look like ami-0123456789abcdef0"),
        ({"subnet_id": "sub-1"}, "subnet_id: must look like subnet-0123abcd"),
        ({"security_group_ids": ["default"]}, "security_group_ids[0]: must look like sg-0123abcd"),
        (
            {"security_group_ids": ["sg-0123abcd", "sg-x"]},
            "security_group_ids[1]: must look like sg-0123abcd",
        ),
        ({"instance_profile": "bad name"}, f"instance_profile: {NAME_CHARS} (found ' ')"),
        (
            {"instance_profile": "arn:aws:iam::123456789012:role/x"},
            'instance_profile: must be an ARN whose resource starts with "instance-profile/"',
        ),
        (
            {"instance_profile": "arn:aws:ec2::123456789012:instance-profile/x"},
            "instance_profile: must be an ARN of service 'iam', not 'ec2'",
        ),
        (
            {"metadata_options": {"http_put_response_hop_limit": 65}},
            "metadata_options.http_put_response_hop_limit: must be between 1 and 64",
        ),
        ({"user_data": "x" * 16385}, "user_data: must be at most 16 KB (16384 bytes of UTF-8 text)"),
        ({"name": ""}, NAME_TAG),
        ({"name": "n" * 257}, NAME_TAG),
        ({"tags": {"aws:x": "v"}}, f"tags['aws:x']: {RESERVED_TAG}"),
        ({"wait_timeout": -1}, "wait_timeout: must be 0 or more seconds"),
        ({"profile_wait_timeout": -1}, "profile_wait_timeout: must be 0 or more seconds"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(overrides, message):
    with pytest.raises(ValidationError) as err:
        inst.desired_instance(params(**overrides))
    assert str(err.value) == message


def test_what_ec2_accepts_is_taken_as_given():
    desired = inst.desired_instance(
        params(
            name="n" * 256,
            subnet_id="subnet-0123abcd",
            security_group_ids=["sg-0123abcd", "sg-0123456789abcdef0"],
            instance_profile="arn:aws:iam::123456789012:instance-profile/path/web-profile",
        )
    )
    assert (desired.name, desired.subnet_id, desired.security_group_ids, desired.instance_profile) == (
        "n" * 256,
        "subnet-0123abcd",
        ("sg-0123abcd", "sg-0123456789abcdef0"),
        "arn:aws:iam::123456789012:instance-profile/path/web-profile",
    )


def test_options_left_out_take_the_documented_defaults():
    """A caller that passes only what is required (not through the argument spec) gets the
    defaults that the module documents."""
    desired = inst.desired_instance({"name": "web", "image_id": AMI})
    defaults = {key: option["default"] for key, option in inst.OPTIONS.items() if "default" in option}
    assert {key: getattr(desired, key) for key in defaults} == defaults
    assert desired.security_group_ids is None


def test_profile_not_ready_recognition():
    def err(code, message):
        return translate(
            ClientError({"Error": {"Code": code, "Message": message}}, "RunInstances"), "RunInstances"
        )

    assert inst.is_profile_not_ready(
        err(
            "InvalidParameterValue",
            "Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
        )
    )
    assert inst.is_profile_not_ready(
        err("InvalidParameterValue", "Instance profile arn:... has no associated IAM Roles")
    )
    assert inst.is_profile_not_ready(err("RequestLimitExceeded", "Request limit exceeded."))
    assert not inst.is_profile_not_ready(err("InvalidParameterValue", "Invalid instance type"))
    assert not inst.is_profile_not_ready(err("UnauthorizedOperation", "no"))
    assert inst.is_profile_not_ready(
        err("InvalidParameterCombination", "IAM instance profile web-profile has no associated IAM Roles")
    )
    assert not inst.is_profile_not_ready(err("InvalidParameterCombination", "Network interfaces and subnet"))
    # botocore's own error, before translation, is recognized from its message too.
    raw = ClientError(
        {"Error": {"Code": "InvalidParameterValue", "Message": "Invalid IAM Instance Profile name"}},
        "RunInstances",
    )
    assert inst.is_profile_not_ready(raw)


# --- against moto in-process ------------------------------------------------------------------


def make_profile(clients, name="web-profile", role="web-role"):
    clients.iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    clients.iam.create_instance_profile(InstanceProfileName=name)
    clients.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)


def test_launch_then_noop(clients):
    make_profile(clients)
    clients.reset()
    launched = inst.run(params(), clients, False, True)
    assert launched["changed"] is True
    instance = launched["instance"]
    assert instance["state"] == "running"
    assert instance["iam_instance_profile_arn"].endswith("instance-profile/web-profile")
    assert instance["metadata_options"]["http_tokens"] == "required"
    assert launched["retries"] == []
    clients.reset()
    again = inst.run(params(), clients, False, False)
    assert again["changed"] is False
    assert clients.mutating() == []
    assert again["instance"]["instance_id"] == instance["instance_id"]


def test_check_mode_never_mutates(clients):
    make_profile(clients)
    make_profile(clients, "other-profile", "other-role")
    clients.reset()
    assert inst.run(params(), clients, True, True)["changed"] is True
    assert clients.mutating() == []
    inst.run(params(), clients, False, False)
    clients.reset()
    variants = [
        params(instance_profile="other-profile"),
        params(metadata_options={"http_put_response_hop_limit": 2}),
        params(tags={"x": "y"}),
        params(state="stopped"),
        params(state="absent"),
    ]
    for variant in variants:
        assert inst.run(variant, clients, True, True)["changed"] is True
        assert clients.mutating() == [], variant


def test_existing_instance_gets_profile_replaced_and_metadata_kept_v2(clients):
    make_profile(clients)
    make_profile(clients, "other-profile", "other-role")
    inst.run(params(), clients, False, False)
    swapped = inst.run(params(instance_profile="other-profile"), clients, False, False)
    assert swapped["operations"] == ["ReplaceIamInstanceProfileAssociation"]
    assert swapped["instance"]["iam_instance_profile_arn"].endswith("/other-profile")
    hop = inst.run(
        params(instance_profile="other-profile", metadata_options={"http_put_response_hop_limit": 2}),
        clients,
        False,
        False,
    )
    assert hop["instance"]["metadata_options"]["http_put_response_hop_limit"] == 2
    assert hop["instance"]["metadata_options"]["http_tokens"] == "required"
    assert inst.run(params(instance_profile="other-profile"), clients, False, False)["changed"] is False


def test_stop_start_terminate(clients):
    make_profile(clients)
    inst.run(params(), clients, False, False)
    assert inst.run(params(state="stopped"), clients, False, False)["instance"]["state"] == "stopped"
    assert inst.run(params(state="running"), clients, False, False)["instance"]["state"] == "running"
    gone = inst.run(params(state="absent"), clients, False, False)
    assert gone["operations"] == ["TerminateInstances"]
    assert inst.run(params(state="absent"), clients, False, False)["changed"] is False


# --- fault injection: the profile is not usable yet --------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    clock = FakeClock()
    fake = functools.partial(RetryPolicy, sleep=clock.sleep, clock=clock.clock)
    # Retries run in the executor (_plan), waits in the behaviour (_ec2_instance).
    monkeypatch.setattr(_plan, "RetryPolicy", fake)
    monkeypatch.setattr(inst, "RetryPolicy", fake)
    return clock


def flaky_run_instance(monkeypatch, failures, code="InvalidParameterValue", message=None):
    message = (
        message
        or "Value (web-profile) for parameter iamInstanceProfile.name is invalid. "
        "Invalid IAM Instance Profile name"
    )
    real = _ec2.run_instance
    state = {"left": failures, "calls": 0}

    def run_instance(ec2, request):
        state["calls"] += 1
        if state["left"]:
            state["left"] -= 1
            raise translate(
                ClientError({"Error": {"Code": code, "Message": message}}, "RunInstances"), "RunInstances"
            )
        return real(ec2, request)

    monkeypatch.setattr(_ec2, "run_instance", run_instance)
    return state


@pytest.mark.parametrize("failures", [1, 3, 6])
def test_profile_not_ready_k_times_then_success(clients, monkeypatch, fake_time, failures):
    make_profile(clients)
    state = flaky_run_instance(monkeypatch, failures)
    result = inst.run(params(), clients, False, False)
    assert result["changed"] is True
    assert len(result["retries"]) == failures
    assert result["retries"][0] == {"operation": "RunInstances", "error": "InvalidParameterValue"}
    assert state["calls"] == failures + 1
    assert result["instance"]["state"] == "running"


def test_profile_never_ready_fails_after_the_budget(clients, monkeypatch, fake_time):
    make_profile(clients)
    state = flaky_run_instance(
        monkeypatch, 10_000, message="Instance profile web-profile has no associated IAM Roles"
    )
    with pytest.raises(KeylessAwsError) as err:
        inst.run(params(), clients, False, False)
    assert (err.value.code, err.value.operation) == ("InvalidParameterValue", "RunInstances")
    assert err.value.message == (
        f"instance profile web-profile did not become usable by EC2 in 60 seconds ({state['calls'] - 1} "
        "retries): RunInstances failed with InvalidParameterValue: "
        "Instance profile web-profile has no associated IAM Roles"
    )
    assert state["calls"] > 2 and fake_time.now <= 60
    assert _ec2.instances_named(clients.ec2, "web", inst.IDENTITY_STATES) == []


def test_throttling_is_retried(clients, monkeypatch, fake_time):
    make_profile(clients)
    flaky_run_instance(monkeypatch, 2, code="RequestLimitExceeded", message="Request limit exceeded.")
    result = inst.run(params(), clients, False, False)
    assert [r["error"] for r in result["retries"]] == ["RequestLimitExceeded"] * 2


def test_other_errors_are_not_retried(clients, monkeypatch, fake_time):
    make_profile(clients)
    state = flaky_run_instance(monkeypatch, 5, code="UnauthorizedOperation", message="You are not authorized")
    with pytest.raises(KeylessAwsError, match="UnauthorizedOperation"):
        inst.run(params(), clients, False, False)
    assert state["calls"] == 1


def test_missing_profile_in_moto_is_retried_then_reported(clients, fake_time):
    # moto answers NoSuchEntity for a profile that does not exist (yet): same handling.
    with pytest.raises(KeylessAwsError, match="did not become usable by EC2 in 60 seconds"):
        inst.run(params(instance_profile="never-created"), clients, False, False)


def test_wait_timeout_is_a_failure(clients, monkeypatch, fake_time):
    make_profile(clients)
    monkeypatch.setattr(_ec2, "describe_instance", lambda ec2, instance_id: {"State": {"Name": "pending"}})
    with pytest.raises(
        KeylessAwsError, match=r"timed out after 300s waiting for instance i-.* to be running"
    ):
        inst.run(params(), clients, False, False)


# --- user data: botocore base64-encodes UserData for RunInstances itself -------------------------

SCRIPT = "#!/bin/sh\necho 'keyless' > /tmp/keyless\n"


def test_user_data_is_sent_as_text_not_base64():
    actions, _unused = inst.plan_create(inst.desired_instance(params(user_data=SCRIPT)))
    assert actions[0].args["request"]["UserData"] == SCRIPT


def test_user_data_stored_by_ec2_decodes_once_to_the_script(clients):
    make_profile(clients)
    launched = inst.run(params(user_data=SCRIPT), clients, False, False)
    attribute = clients.ec2.describe_instance_attribute(
        InstanceId=launched["instance"]["instance_id"], Attribute="userData"
    )
    assert base64.b64decode(attribute["UserData"]["Value"]).decode() == SCRIPT


def test_user_data_limit_is_16_kb_of_raw_text():
    inst.desired_instance(params(user_data="x" * 16384))  # base64 would make it 21848 bytes
    with pytest.raises(ValidationError, match="user_data: must be at most 16 KB"):
        inst.desired_instance(params(user_data="é" * 8193))  # 16386 bytes of UTF-8


# --- fake EC2: what moto cannot play ------------------------------------------------------------

PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/web-profile"
LAUNCH_FAILED = {"Code": "Server.InternalError", "Message": "Server.InternalError: Internal error on launch"}


def ec2_pattern(value):
    """An EC2 filter value as a regex: * and ? are wildcards, a backslash escapes the next character."""
    parts = re.findall(r"\\.|.", value, re.DOTALL)
    wild = {"*": ".*", "?": "."}
    return "".join(
        re.escape(part[-1]) if part.startswith("\\") else wild.get(part, re.escape(part)) for part in parts
    )


def aws_refuses(operation, code, message):
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# Where each transitional state settles ("Instance state changes", EC2 User Guide).
SETTLES = {"pending": "running", "stopping": "stopped", "shutting-down": "terminated"}


class FakeEc2:
    """EC2 as AWS plays it where moto does not, with every call recorded by its AWS name.

    A transitional state (pending, stopping, shutting-down) shows in ``dwell`` DescribeInstances
    answers, then the instance settles ("Instance state changes", EC2 User Guide). StartInstances
    needs a stopped instance and StopInstances a running one, else IncorrectInstanceState; tags
    with the reserved ``aws:`` prefix cannot be created or deleted. Filter values are wildcards.
    """

    def __init__(self, *instances, dwell=2, launch_fails=None):
        self.instances = {raw["InstanceId"]: {**raw, "shown": 0} for raw in instances}
        self.calls = []
        self.dwell = dwell
        self.launch_fails = launch_fails
        self.launched = 0
        # RunInstances' ClientToken -> the instance it launched ("Ensuring idempotency").
        self.tokens = {}
        self.tokens_sent = []
        self.images = [{"ImageId": AMI, "RootDeviceName": "/dev/xvda"}]
        self.volumes = {}

    # reads

    def describe_instances(self, InstanceIds=None, Filters=None):
        self.calls.append("DescribeInstances")
        found = [raw for raw in self.instances.values() if self._matches(raw, InstanceIds, Filters or [])]
        answer = {"Reservations": [{"Instances": [self._view(raw) for raw in found]}]}
        for raw in found:
            self._age(raw)
        return answer

    def get_paginator(self, name):
        assert name in ("describe_instances", "describe_images")
        fake = self

        class Paginator:
            def paginate(self, **kwargs):
                yield getattr(fake, name)(**kwargs)

        return Paginator()

    def describe_images(self, Filters, PaginationConfig):
        self.calls.append("DescribeImages")
        wanted = Filters[0]["Values"]
        return {"Images": [image for image in self.images if image["ImageId"] in wanted]}

    def describe_volumes(self, VolumeIds):
        self.calls.append("DescribeVolumes")
        return {"Volumes": [copy.deepcopy(self.volumes[volume_id]) for volume_id in VolumeIds]}

    def describe_instance_attribute(self, InstanceId, Attribute):
        self.calls.append("DescribeInstanceAttribute")
        value = self.instances[InstanceId]["attributes"][Attribute]
        return {"InstanceId": InstanceId, Attribute[0].upper() + Attribute[1:]: {"Value": value}}

    def describe_iam_instance_profile_associations(self, Filters):
        self.calls.append("DescribeIamInstanceProfileAssociations")
        instance_id = Filters[0]["Values"][0]
        association = {
            "InstanceId": instance_id,
            "State": "associated",
            "IamInstanceProfile": {"Arn": PROFILE_ARN},
        }
        return {"IamInstanceProfileAssociations": [association]}

    # mutations

    def run_instances(self, MinCount, MaxCount, TagSpecifications, **request):
        self.calls.append("RunInstances")
        self.tokens_sent.append(request.get("ClientToken"))
        known = self.tokens.get(request.get("ClientToken"))
        if known is not None:  # the same reservation again; only the state may have moved on
            return {"Instances": [self._view(self.instances[known])]}
        self.launched += 1
        raw = fake_instance(
            "pending",
            instance_id=f"i-{self.launched:017x}",
            tags=TagSpecifications[0]["Tags"],
            request=request,
        )
        if self.launch_fails:
            raw["failure"] = ("terminated", self.launch_fails)
        self._attach_root_volume(raw, request)
        self.instances[raw["InstanceId"]] = raw
        if request.get("ClientToken"):
            self.tokens[request["ClientToken"]] = raw["InstanceId"]
        return {"Instances": [self._view(raw)]}

    def start_instances(self, InstanceIds):
        self.calls.append("StartInstances")
        raw = self._one(InstanceIds, "StartInstances", ("stopped",), "started")
        raw.update(state="pending", shown=0)
        raw.pop("StateReason", None)
        return {}

    def stop_instances(self, InstanceIds):
        self.calls.append("StopInstances")
        raw = self._one(InstanceIds, "StopInstances", ("running", "stopping", "stopped"), "stopped")
        if raw["state"] == "running":
            raw.update(state="stopping", shown=0)
        return {}

    def terminate_instances(self, InstanceIds):
        self.calls.append("TerminateInstances")
        raw = self.instances[InstanceIds[0]]
        if raw["attributes"]["disableApiTermination"]:
            message = f"The instance '{raw['InstanceId']}' may not be terminated. Modify its attribute"
            raise aws_refuses("TerminateInstances", "OperationNotPermitted", message)
        if raw["state"] != "terminated":
            raw.update(state="shutting-down", shown=0)
            raw.pop("failure", None)
        return {}

    def modify_instance_attribute(self, InstanceId, Attribute=None, Value=None, **typed):
        """Both documented forms; the instance type changes only while stopped (IncorrectInstanceState)."""
        self.calls.append("ModifyInstanceAttribute")
        if Attribute is None:
            [(member, value)] = list(typed.items())
            Attribute, Value = member[0].lower() + member[1:], value["Value"]
        raw = self.instances[InstanceId]
        if Attribute == "instanceType":
            self._one([InstanceId], "ModifyInstanceAttribute", ("stopped",), "modified")
            raw["InstanceType"] = Value
        else:
            raw["attributes"][Attribute] = Value
        return {}

    def monitor_instances(self, InstanceIds):
        self.calls.append("MonitorInstances")
        self.instances[InstanceIds[0]]["Monitoring"] = {"State": "pending"}
        return {}

    def unmonitor_instances(self, InstanceIds):
        self.calls.append("UnmonitorInstances")
        self.instances[InstanceIds[0]]["Monitoring"] = {"State": "disabling"}
        return {}

    def create_tags(self, Resources, Tags):
        self.calls.append("CreateTags")
        self._refuse_reserved("CreateTags", [tag["Key"] for tag in Tags])
        self.instances[Resources[0]]["tags"].update({tag["Key"]: tag["Value"] for tag in Tags})
        return {}

    def delete_tags(self, Resources, Tags):
        self.calls.append("DeleteTags")
        self._refuse_reserved("DeleteTags", [tag["Key"] for tag in Tags])
        for tag in Tags:
            self.instances[Resources[0]]["tags"].pop(tag["Key"], None)
        return {}

    def mutating(self):
        return [call for call in self.calls if not call.startswith("Describe")]

    # the simulation

    def _attach_root_volume(self, raw, request):
        """The root volume EC2 makes from the image, with the request's mapping for that device."""
        (mapping,) = request.get("BlockDeviceMappings") or [{"DeviceName": "/dev/xvda", "Ebs": {}}]
        ebs = mapping["Ebs"]
        volume_id = f"vol-{len(self.volumes) + 1:017x}"
        self.volumes[volume_id] = {
            "VolumeId": volume_id,
            "Size": ebs.get("VolumeSize", 8),
            "VolumeType": ebs.get("VolumeType", "gp3"),
            "Iops": ebs.get("Iops", 3000),
            "Throughput": ebs.get("Throughput", 125),
            "Encrypted": ebs.get("Encrypted", False),
            **({"KmsKeyId": ebs["KmsKeyId"]} if "KmsKeyId" in ebs else {}),
        }
        raw["RootDeviceName"] = mapping["DeviceName"]
        delete = ebs.get("DeleteOnTermination", True)
        raw["BlockDeviceMappings"] = [
            {
                "DeviceName": mapping["DeviceName"],
                "Ebs": {"VolumeId": volume_id, "DeleteOnTermination": delete},
            }
        ]

    def _matches(self, raw, ids, filters):
        if ids is not None and raw["InstanceId"] not in ids:
            return False
        for item in filters:
            if item["Name"] == "instance-state-name" and raw["state"] not in item["Values"]:
                return False
            if item["Name"].startswith("tag:"):
                value = raw["tags"].get(item["Name"][4:])
                if value is None or not any(re.fullmatch(ec2_pattern(v), value) for v in item["Values"]):
                    return False
        return True

    def _age(self, raw):
        raw["shown"] += 1
        if raw["state"] in SETTLES and raw["shown"] >= self.dwell:
            failure = raw.pop("failure", None)
            if failure:  # the instance settles elsewhere, and says why
                raw["state"], raw["StateReason"] = failure
            else:
                raw["state"] = SETTLES[raw["state"]]
            raw["shown"] = 0

    def _one(self, ids, operation, allowed, verb):
        raw = self.instances[ids[0]]
        if raw["state"] not in allowed:
            message = f"The instance '{raw['InstanceId']}' is not in a state from which it can be {verb}."
            raise aws_refuses(operation, "IncorrectInstanceState", message)
        return raw

    def _refuse_reserved(self, operation, keys):
        if any(key.lower().startswith("aws:") for key in keys):
            raise aws_refuses(
                operation,
                "InvalidParameterValue",
                "Tag keys starting with 'aws:' are reserved for internal use",
            )

    def _view(self, raw):
        view = {key: value for key, value in raw.items() if key[0].isupper()}
        view["State"] = {"Name": raw["state"]}
        view["Tags"] = [{"Key": key, "Value": value} for key, value in raw["tags"].items()]
        return copy.deepcopy(view)


def fake_instance(state, name="web", instance_id="i-0123456789abcdef0", tags=None, request=None):
    request = request or {}
    return {
        "InstanceId": instance_id,
        "ImageId": request.get("ImageId", AMI),
        "InstanceType": request.get("InstanceType", "t3.micro"),
        "SubnetId": "subnet-12345678",
        "IamInstanceProfile": {"Arn": PROFILE_ARN},
        "MetadataOptions": request.get(
            "MetadataOptions",
            {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
        ),
        "state": state,
        "shown": 0,
        "tags": {tag["Key"]: tag["Value"] for tag in tags} if tags else {"Name": name},
        "Monitoring": {"State": "enabled" if request.get("Monitoring", {}).get("Enabled") else "disabled"},
        "Placement": {"AvailabilityZone": "us-east-1a", **request.get("Placement", {})},
        "attributes": {
            "disableApiTermination": request.get("DisableApiTermination", False),
            "instanceInitiatedShutdownBehavior": request.get("InstanceInitiatedShutdownBehavior", "stop"),
        },
    }


class FakeClients:
    region = "us-east-1"

    def __init__(self, ec2):
        self.ec2 = ec2
        self.iam = None


def run_fake(fake, check_mode=False, **overrides):
    return inst.run(params(**overrides), FakeClients(fake), check_mode, False)


def test_the_fake_plays_what_aws_refuses():
    fake = FakeEc2(fake_instance("pending"))
    with pytest.raises(ClientError, match="IncorrectInstanceState"):
        fake.stop_instances(InstanceIds=["i-0123456789abcdef0"])
    with pytest.raises(ClientError, match="IncorrectInstanceState"):
        fake.start_instances(InstanceIds=["i-0123456789abcdef0"])
    answers = [fake.describe_instances() for _poll in range(3)]
    states = [answer["Reservations"][0]["Instances"][0]["State"]["Name"] for answer in answers]
    assert states == ["pending", "pending", "running"]
    with pytest.raises(ClientError, match="reserved"):
        fake.delete_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "aws:cloudformation:stack-name"}])


# --- the Name tag is matched exactly: EC2 filter values are wildcards --------------------------


@pytest.mark.parametrize(
    ("name", "sent"),
    [("web-?", r"web-\?"), ("web-*", r"web-\*"), ("a\\b", "a\\\\b"), ("web-1", "web-1"), ("*?\\", r"\*\?\\")],
)
def test_name_filter_escapes_ec2_wildcards(name, sent):
    assert _ec2.filter_literal(name) == sent
    assert re.fullmatch(ec2_pattern(sent), name)


@pytest.mark.parametrize("name", ["web-?", "web-*"])
def test_a_wildcard_name_launches_its_own_instance_instead_of_adopting_another(fake_time, name):
    fake = FakeEc2(fake_instance("running", name="web-1"))
    result = run_fake(fake, name=name)
    assert result["operations"] == ["RunInstances"]
    assert result["instance"]["instance_id"] != "i-0123456789abcdef0"
    assert result["instance"]["tags"]["Name"] == name


@pytest.mark.parametrize("name", ["web-?", "web-*"])
def test_a_wildcard_name_absent_leaves_other_instances_alone(name):
    fake = FakeEc2(fake_instance("running", name="web-1"))
    result = run_fake(fake, name=name, state="absent")
    assert (result["changed"], fake.mutating()) == (False, [])
    assert fake.instances["i-0123456789abcdef0"]["state"] == "running"


def test_only_an_exact_name_is_an_identity_whatever_the_endpoint_answers():
    # An endpoint that reads the filter as a pattern anyway (moto has no escape for a backslash).
    raws = [
        {"InstanceId": "i-1", "State": {"Name": "running"}, "Tags": [{"Key": "Name", "Value": "web-1"}]},
        {"InstanceId": "i-2", "State": {"Name": "running"}, "Tags": [{"Key": "Name", "Value": "web-?"}]},
        {"InstanceId": "i-3", "State": {"Name": "running"}, "Tags": [{"Key": "name", "Value": "web-?"}]},
    ]
    assert [raw["InstanceId"] for raw in inst.named_exactly(raws, "web-?")] == ["i-2"]
    assert inst.named_exactly(raws, "web-*") == []


# --- instance states: wait for the intermediate state, never send what AWS refuses -------------


@pytest.mark.parametrize(
    ("found", "wanted", "operation"),
    [("stopping", "running", "StartInstances"), ("pending", "stopped", "StopInstances")],
    ids=["running-waits-for-stopping-to-stop", "stopped-waits-for-pending-to-run"],
)
def test_waits_for_the_intermediate_state_to_end_before_changing_it(fake_time, found, wanted, operation):
    # EC2 refuses StartInstances on a stopping instance and StopInstances on a pending one
    # (IncorrectInstanceState): the task waits for the state it can change, then waits for the result.
    fake = FakeEc2(fake_instance(found))
    result = run_fake(fake, state=wanted)
    assert fake.calls == [
        "DescribeInstances",  # found: stopping / pending
        "DescribeInstances",  # still stopping / pending
        "DescribeInstances",  # stopped / running: now it can be started / stopped
        operation,
        "DescribeInstances",  # pending / stopping
        "DescribeInstances",  # pending / stopping
        "DescribeInstances",  # running / stopped
        "DescribeInstances",  # read back
    ]
    assert (result["changed"], result["operations"], result["instance"]["state"]) == (
        True,
        [operation],
        wanted,
    )


def test_stopped_without_wait_launches_then_waits_for_running_before_stopping(fake_time):
    fake = FakeEc2()
    result = run_fake(fake, state="stopped", wait=False)
    assert fake.calls == [
        "DescribeInstances",  # nothing named web
        "RunInstances",
        "DescribeInstances",  # pending
        "DescribeInstances",  # pending
        "DescribeInstances",  # running: now it can be stopped
        "StopInstances",
        "DescribeInstances",  # read back, not waited for
    ]
    assert (result["operations"], result["instance"]["state"]) == (
        ["RunInstances", "StopInstances"],
        "stopping",
    )


def test_waiting_for_the_intermediate_state_is_bounded_by_wait_timeout(fake_time):
    fake = FakeEc2(fake_instance("stopping"), dwell=10**9)
    with pytest.raises(
        KeylessAwsError, match=r"timed out after 30s waiting for instance i-\w+ to be stopped"
    ):
        run_fake(fake, wait=False, wait_timeout=30)
    assert fake.mutating() == []
    assert 25 <= fake_time.now <= 30  # the last pause would have overrun the timeout


def test_a_shutting_down_instance_is_gone_so_a_new_one_is_launched(fake_time):
    fake = FakeEc2(fake_instance("shutting-down"))
    result = run_fake(fake)
    assert result["changed"] is True
    assert result["operations"] == ["RunInstances"]
    assert result["instance"]["instance_id"] != "i-0123456789abcdef0"
    assert result["instance"]["state"] == "running"


def test_absent_with_only_a_shutting_down_instance_changes_nothing():
    fake = FakeEc2(fake_instance("shutting-down"))
    result = run_fake(fake, state="absent")
    assert (result["changed"], result["operations"]) == (False, [])
    assert fake.calls == ["DescribeInstances"]


def test_a_launch_that_ends_terminated_fails_fast_with_its_state_reason(fake_time):
    fake = FakeEc2(launch_fails=LAUNCH_FAILED)
    with pytest.raises(
        KeylessAwsError,
        match=r"instance i-\w+ is terminated, it will not become running: Server.InternalError",
    ) as err:
        run_fake(fake)
    assert err.value.code == "InstanceStateUnreachable"
    assert fake_time.now < 10  # not the 300 s of wait_timeout


@pytest.mark.parametrize(
    ("state", "wanted", "verdict"),
    [
        ("terminated", "running", True),
        ("shutting-down", "running", True),
        ("terminated", "stopped", True),
        ("shutting-down", "stopped", True),
        ("shutting-down", "terminated", False),
        ("stopped", "running", False),  # may be an answer from before the start
        ("pending", "running", False),
        ("running", "stopped", False),  # may be an answer from before the stop
        (None, "running", False),  # not visible yet
    ],
)
def test_which_states_can_never_become_the_wanted_one(state, wanted, verdict):
    assert inst.cannot_become(wanted, state) is verdict


@pytest.mark.parametrize(
    ("existing", "overrides", "operations", "predicted"),
    [
        ("stopping", {}, ["StartInstances"], "running"),
        ("pending", {"state": "stopped"}, ["StopInstances"], "stopped"),
        (None, {"state": "stopped", "wait": False}, ["RunInstances", "StopInstances"], "stopped"),
        ("shutting-down", {}, ["RunInstances"], "running"),
        ("shutting-down", {"state": "absent"}, [], None),
    ],
)
def test_check_mode_predicts_each_transition_and_mutates_nothing(existing, overrides, operations, predicted):
    fake = FakeEc2(*([fake_instance(existing)] if existing else []))
    result = run_fake(fake, check_mode=True, **overrides)
    assert fake.calls == ["DescribeInstances"]
    assert result["operations"] == operations
    assert result["instance"].get("state") == predicted


# --- reserved aws: tags are AWS's -------------------------------------------------------------


def test_adopting_a_cloudformation_instance_never_touches_its_aws_tags():
    stack = {"aws:cloudformation:stack-name": "web-stack", "aws:cloudformation:logical-id": "Web"}
    tags = [{"Key": key, "Value": value} for key, value in {"Name": "web", "old": "x", **stack}.items()]
    fake = FakeEc2(fake_instance("running", tags=tags))
    result = run_fake(fake, tags={"team": "ops"})
    assert fake.mutating() == ["DeleteTags", "CreateTags"]
    assert fake.instances["i-0123456789abcdef0"]["tags"] == {"Name": "web", "team": "ops", **stack}
    assert result["instance"]["tags"] == {"Name": "web", "team": "ops", **stack}
    assert run_fake(fake, tags={"team": "ops"})["changed"] is False


# --- EC2's tag rules, not IAM's ------------------------------------------------------------------


def test_ec2_tags_accept_characters_iam_refuses():
    desired = inst.desired_instance(
        params(tags={"cost center": "ops (eu)", "owners": "a,b", "k" * 127: "v" * 256})
    )
    assert desired.tags == {"cost center": "ops (eu)", "owners": "a,b", "k" * 127: "v" * 256}


@pytest.mark.parametrize(
    ("tags", "rule"),
    [
        ({"k" * 128: "v"}, r"tags\['k+'\]: key must be at most 127 characters \(is 128\)"),
        ({"k": "v" * 257}, r"tags\['k'\]: value must be at most 256 characters \(is 257\)"),
        (
            {f"k{i}": "v" for i in range(50)},
            r"tags: must have at most 50 tags, the Name tag included \(has 51\)",
        ),
        (
            {"aws:cloudformation:stack-name": "s"},
            r"tags\['aws:cloudformation:stack-name'\]: key must not start",
        ),
    ],
)
def test_ec2_tags_are_refused_by_ec2_rules(tags, rule):
    with pytest.raises(ValidationError, match=f"^{rule}"):
        inst.desired_instance(params(tags=tags))


def test_forty_nine_tags_and_the_name_tag_are_fifty():
    inst.desired_instance(params(tags={f"k{i}": "v" for i in range(49)}))


# --- RunInstances' ClientToken: one launch per request, however often it is sent ---------------


def test_the_launch_token_is_the_same_for_the_same_request_and_fits_ec2s_limit():
    request = {"ImageId": AMI, "InstanceType": "t3.micro", "TagSpecifications": [{"Tags": [{"Key": "Name"}]}]}
    token = inst.launch_token(request)
    assert token == inst.launch_token(dict(reversed(list(request.items()))))
    assert len(token) <= 64 and token.isascii() and token.startswith("keyless-")
    assert token != inst.launch_token({**request, "InstanceType": "t3.small"})
    assert token != inst.launch_token(request, ["i-0123456789abcdef0"])


def test_two_runs_launching_the_same_instance_at_once_get_one_instance(fake_time):
    # Both runs read before either launched (no instance named web), then both launch.
    fake = FakeEc2()
    desired = inst.desired_instance(params())
    request = inst.plan_create(desired)[0][0].args["request"]
    first, second = (inst.InstanceActions(fake, desired, None) for _run in range(2))
    first.launch(request)
    second.launch(request)
    assert first.instance_id == second.instance_id == "i-00000000000000001"
    assert fake.launched == 1 and len(set(fake.tokens_sent)) == 1


def launched_earlier(fake):
    """The same task's launch, run before (its request and the instance it started)."""
    desired = inst.desired_instance(params())
    request = inst.plan_create(desired)[0][0].args["request"]
    earlier = inst.InstanceActions(fake, desired, None)
    earlier.launch(request)
    return request, earlier.instance_id


def test_a_token_that_brings_back_a_terminated_instance_is_salted_and_sent_again(fake_time):
    # The same task ran a day ago; that instance was terminated. EC2 keeps its token.
    fake = FakeEc2()
    request, earlier = launched_earlier(fake)
    fake.instances[earlier]["state"] = "terminated"
    result = run_fake(fake)
    assert result["changed"] is True
    assert fake.calls.count("RunInstances") == 3 and fake.launched == 2
    assert result["instance"]["instance_id"] == "i-00000000000000002"
    assert fake.tokens_sent[2] == inst.launch_token(request, ["i-00000000000000001"])


def test_a_replayed_instance_that_no_longer_has_the_name_is_not_adopted(fake_time):
    fake = FakeEc2()
    _request, earlier = launched_earlier(fake)
    fake.instances[earlier]["tags"]["Name"] = "renamed-by-hand"
    result = run_fake(fake)
    assert result["instance"]["instance_id"] == "i-00000000000000002"
    assert fake.instances["i-00000000000000001"]["tags"]["Name"] == "renamed-by-hand"


# DescribeInstances gives StateReason {Code, Message} (e.g. Server.InternalError on a failed launch)
# and StateTransitionReason, a sentence, for user-initiated changes; the most specific one wins.
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            {
                "StateReason": {
                    "Code": "Server.InternalError",
                    "Message": "Server.InternalError: Internal error",
                },
                "StateTransitionReason": "User initiated (2026-12-02 05:00:00 GMT)",
            },
            "Server.InternalError: Internal error",
        ),
        ({"StateReason": {"Code": "Server.SpotInstanceTermination"}}, "Server.SpotInstanceTermination"),
        (
            {"StateReason": {}, "StateTransitionReason": "User initiated (2026-12-02 05:00:00 GMT)"},
            "User initiated (2026-12-02 05:00:00 GMT)",
        ),
        ({"StateTransitionReason": ""}, "no reason given"),
        ({}, "no reason given"),
    ],
)
def test_state_reason_names_the_most_specific_reason_ec2_gives(raw, reason):
    assert inst.state_reason(raw) == reason


# --- exact plans, warnings and the association handlers (each kills mutants `make mutation`
# showed alive) ---------------------------------------------------------------------------------


def test_absent_plans_one_terminate_and_predicts_terminated():
    actions, predicted = inst.plan_update(current(), inst.desired_instance(params(state="absent")))
    assert (actions, predicted) == (
        [_plan.Action("TerminateInstances", {})],
        {**current(), "state": "terminated"},
    )


def test_a_metadata_change_predicts_the_merged_options():
    desired = inst.desired_instance(params(metadata_options={"http_put_response_hop_limit": 2}))
    actions, predicted = inst.plan_update(current(), desired)
    assert ops(actions) == ["ModifyInstanceMetadataOptions"]
    assert predicted["metadata_options"] == {
        "http_tokens": "required",
        "http_put_response_hop_limit": 2,
        "http_endpoint": "enabled",
    }


@pytest.mark.parametrize(
    ("state", "wanted", "action"),
    [
        ("stopped", "running", _plan.Action("StartInstances", {})),
        ("stopping", "running", _plan.Action("StartInstances", {"wait_first": "stopped"})),
        ("running", "stopped", _plan.Action("StopInstances", {})),
        ("pending", "stopped", _plan.Action("StopInstances", {"wait_first": "running"})),
    ],
)
def test_only_an_intermediate_state_is_waited_for_before_start_or_stop(state, wanted, action):
    actions, predicted = inst.plan_update(current(state=state), inst.desired_instance(params(state=wanted)))
    assert (actions, predicted["state"]) == ([action], wanted)


def test_drift_of_the_key_pair_and_the_subnet_is_warned_too():
    desired = inst.desired_instance(params(key_name="ops-key", subnet_id="subnet-87654321"))
    assert inst.drift_warnings(current(), desired) == [
        "key_name is None, not 'ops-key'; it is not changed in place",
        "subnet_id is 'subnet-12345678', not 'subnet-87654321'; it is not changed in place",
    ]


def test_diff_shows_the_settable_fields_of_the_instance():
    resource = inst.InstanceResource(params(), FakeClients(FakeEc2()), True)
    assert resource.diff_view(current()) == {
        "state": "running",
        "instance_type": "t3.micro",
        "image_id": AMI,
        "iam_instance_profile_arn": PROFILE_ARN,
        "metadata_options": current()["metadata_options"],
        "tags": {"Name": "web"},
    }


class AssociationsEc2:
    """DescribeIamInstanceProfileAssociations answers in turn (the last one repeats); writes recorded."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def describe_iam_instance_profile_associations(self, Filters):
        self.calls.append(("Describe", Filters))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return {"IamInstanceProfileAssociations": answer}

    def associate_iam_instance_profile(self, InstanceId, IamInstanceProfile):
        self.calls.append(("Associate", InstanceId, IamInstanceProfile))
        return {}

    def replace_iam_instance_profile_association(self, AssociationId, IamInstanceProfile):
        self.calls.append(("Replace", AssociationId, IamInstanceProfile))
        return {}


INSTANCE = "i-0123456789abcdef0"
BY_INSTANCE = [{"Name": "instance-id", "Values": [INSTANCE]}]
OTHER_ARN = "arn:aws:iam::123456789012:instance-profile/other-profile"


def association(arn, state="associated"):
    return {"AssociationId": "iip-assoc-1", "State": state, "IamInstanceProfile": {"Arn": arn}}


def actions_on(ec2, **overrides):
    return inst.InstanceActions(ec2, inst.desired_instance(params(**overrides)), INSTANCE)


def test_associate_names_the_instance_and_the_profile():
    ec2 = AssociationsEc2([])
    actions_on(ec2).associate({"Name": "web-profile"})
    assert ec2.calls == [("Associate", INSTANCE, {"Name": "web-profile"})]


def test_replace_replaces_the_current_association():
    ec2 = AssociationsEc2([association(OTHER_ARN)])
    actions_on(ec2).replace_association({"Name": "web-profile"})
    assert ec2.calls == [("Describe", BY_INSTANCE), ("Replace", "iip-assoc-1", {"Name": "web-profile"})]


def test_replace_with_no_association_left_associates_instead():
    """The association went away between the read and the write (e.g. another run removed it)."""
    ec2 = AssociationsEc2([association(OTHER_ARN, "disassociated")])
    actions_on(ec2).replace_association({"Name": "web-profile"})
    assert ec2.calls == [("Describe", BY_INSTANCE), ("Associate", INSTANCE, {"Name": "web-profile"})]


def test_the_association_is_waited_for_until_the_wanted_profile_is_associated(fake_time):
    ec2 = AssociationsEc2(
        [association(OTHER_ARN)], [association(PROFILE_ARN, "associating")], [association(PROFILE_ARN)]
    )
    actions_on(ec2).wait_association()
    assert ec2.calls == [("Describe", BY_INSTANCE)] * 3


def test_without_wait_the_association_is_not_waited_for():
    ec2 = AssociationsEc2([])
    actions_on(ec2, wait=False).wait_association()
    assert ec2.calls == []


def test_an_association_that_never_comes_times_out_naming_profile_and_instance(fake_time):
    ec2 = AssociationsEc2([association(OTHER_ARN)])
    with pytest.raises(KeylessAwsError) as err:
        actions_on(ec2, wait_timeout=5).wait_association()
    assert str(err.value) == (
        f"timed out after 5s waiting for instance profile web-profile to be associated with {INSTANCE}"
    )


def test_the_instance_view_maps_every_field_of_describe_instances():
    from datetime import UTC, datetime

    raw = {
        "InstanceId": INSTANCE,
        "State": {"Code": 16, "Name": "running"},
        "ImageId": AMI,
        "InstanceType": "t3.micro",
        "KeyName": "ops-key",
        "SubnetId": "subnet-12345678",
        "SecurityGroups": [{"GroupId": "sg-2", "GroupName": "b"}, {"GroupId": "sg-1", "GroupName": "a"}],
        "PrivateIpAddress": "10.0.0.5",
        "PublicIpAddress": "203.0.113.5",
        "PrivateDnsName": "ip-10-0-0-5.ec2.internal",
        "PublicDnsName": "ec2-203-0-113-5.compute-1.amazonaws.com",
        "IamInstanceProfile": {"Arn": PROFILE_ARN, "Id": "AIPAEXAMPLE"},
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2,
            "HttpEndpoint": "enabled",
        },
        "Tags": [{"Key": "Name", "Value": "web"}],
        "LaunchTime": datetime(2026, 1, 1, tzinfo=UTC),
        "Placement": {"AvailabilityZone": "us-east-1b", "GroupName": "web-spread", "Tenancy": "default"},
        "Monitoring": {"State": "pending"},
        "EbsOptimized": True,
    }
    assert inst.instance_view(raw) == {
        "instance_id": INSTANCE,
        "state": "running",
        "image_id": AMI,
        "instance_type": "t3.micro",
        "key_name": "ops-key",
        "subnet_id": "subnet-12345678",
        "security_group_ids": ["sg-1", "sg-2"],
        "private_ip_address": "10.0.0.5",
        "public_ip_address": "203.0.113.5",
        "private_dns_name": "ip-10-0-0-5.ec2.internal",
        "public_dns_name": "ec2-203-0-113-5.compute-1.amazonaws.com",
        "iam_instance_profile_arn": PROFILE_ARN,
        "metadata_options": {
            "http_tokens": "required",
            "http_put_response_hop_limit": 2,
            "http_endpoint": "enabled",
        },
        "tags": {"Name": "web"},
        "launch_time": "2026-01-01T00:00:00+00:00",
        "availability_zone": "us-east-1b",
        "placement_group": "web-spread",
        "detailed_monitoring": True,
        "ebs_optimized": True,
    }
    bare = inst.instance_view({"InstanceId": INSTANCE})
    assert (bare["state"], bare["security_group_ids"], bare["iam_instance_profile_arn"], bare["tags"]) == (
        None,
        [],
        None,
        {},
    )
    assert (bare["placement_group"], bare["detailed_monitoring"]) == (None, False)


@pytest.mark.parametrize("hops", [1, 64])
def test_the_hop_limits_ec2_allows_are_accepted(hops):
    desired = inst.desired_instance(params(metadata_options={"http_put_response_hop_limit": hops}))
    assert desired.metadata["http_put_response_hop_limit"] == hops


@pytest.mark.parametrize("hops", [0, 65])
def test_a_hop_limit_outside_1_to_64_is_refused_with_the_range(hops):
    with pytest.raises(ValidationError) as err:
        inst.desired_instance(params(metadata_options={"http_put_response_hop_limit": hops}))
    assert (err.value.field, err.value.rule) == (
        "metadata_options.http_put_response_hop_limit",
        "must be between 1 and 64",
    )


def test_two_live_instances_with_the_name_are_refused_naming_both():
    fake = FakeEc2(fake_instance("running"), fake_instance("stopped", instance_id="i-0fedcba9876543210"))
    with pytest.raises(KeylessAwsError) as err:
        run_fake(fake, check_mode=True)
    assert err.value.code == "AmbiguousName"
    assert err.value.message == (
        "more than one live instance is named web (i-0123456789abcdef0, i-0fedcba9876543210); "
        "name must identify one instance"
    )
    assert fake.mutating() == []


class ReplayingEc2(FakeEc2):
    """Every token is answered with an instance launched long ago and terminated since."""

    def run_instances(self, MinCount, MaxCount, TagSpecifications, **request):
        self.calls.append("RunInstances")
        self.launched += 1
        raw = fake_instance("terminated", instance_id=f"i-{self.launched:017x}")
        self.instances[raw["InstanceId"]] = raw
        return {"Instances": [self._view(raw)]}


def test_a_launch_gives_up_after_twenty_tokens_that_bring_back_earlier_instances(fake_time):
    fake = ReplayingEc2()
    with pytest.raises(KeylessAwsError) as err:
        run_fake(fake)
    ids = ", ".join(f"i-{n:017x}" for n in range(1, 21))
    assert (err.value.operation, err.value.message) == (
        "RunInstances",
        f"RunInstances gave back 20 earlier instances for this request instead of a new one ({ids})",
    )
    assert fake.calls.count("RunInstances") == inst.MAX_TOKEN_GENERATIONS == 20


class NotYetShownEc2(FakeEc2):
    """DescribeInstances by id does not show a launched instance yet (it is eventually consistent)."""

    def describe_instances(self, InstanceIds=None, Filters=None):
        if InstanceIds and InstanceIds[0] not in self.shown_ids:
            self.calls.append("DescribeInstances")
            raise aws_refuses(
                "DescribeInstances",
                "InvalidInstanceID.NotFound",
                f"The instance ID '{InstanceIds[0]}' does not exist",
            )
        return super().describe_instances(InstanceIds, Filters)

    shown_ids = ()


def test_a_launch_not_shown_yet_without_wait_reports_the_id_ec2_gave(fake_time):
    fake = NotYetShownEc2()
    result = run_fake(fake, wait=False)
    assert result["operations"] == ["RunInstances"]
    assert fake.calls == ["DescribeInstances", "RunInstances", "DescribeInstances"]
    assert (result["instance"]["instance_id"], result["instance"]["state"]) == (
        "i-00000000000000001",
        "running",
    )


def test_terminate_waits_through_shutting_down_until_terminated(fake_time):
    fake = FakeEc2(fake_instance("running"))
    result = run_fake(fake, state="absent")
    assert result["operations"] == ["TerminateInstances"]
    assert fake.instances["i-0123456789abcdef0"]["state"] == "terminated"
    assert fake.calls.count("DescribeInstances") >= 3  # the read, then shutting-down until terminated


class ThrottledTagsEc2(FakeEc2):
    def create_tags(self, Resources, Tags):
        self.calls.append("CreateTags")
        raise aws_refuses("CreateTags", "RequestLimitExceeded", "Request limit exceeded.")


def test_another_operations_throttling_is_reported_as_it_is_not_as_the_profile(fake_time):
    fake = ThrottledTagsEc2(fake_instance("running"))
    with pytest.raises(KeylessAwsError) as err:
        run_fake(fake, tags={"team": "a"})
    # (The fake is no botocore client: the operation is named after its method.)
    assert (err.value.code, err.value.operation) == ("RequestLimitExceeded", "create_tags")
    assert err.value.message == "create_tags failed with RequestLimitExceeded: Request limit exceeded."


def test_without_instance_profile_the_association_is_never_asked(fake_time):
    fake = FakeEc2(fake_instance("stopped"))
    fake.instances["i-0123456789abcdef0"]["IamInstanceProfile"] = {
        "Arn": "arn:aws:iam::123456789012:instance-profile/other"
    }
    result = run_fake(fake, instance_profile=None)
    assert result["operations"] == ["StartInstances"]
    assert "DescribeIamInstanceProfileAssociations" not in fake.calls
    assert (
        result["instance"]["iam_instance_profile_arn"] == "arn:aws:iam::123456789012:instance-profile/other"
    )


def test_a_launch_sends_every_option_as_ec2_names_it_and_predicts_the_instance():
    desired = inst.desired_instance(
        params(
            key_name="ops",
            subnet_id="subnet-0123abcd",
            security_group_ids=["sg-0123abcd"],
            instance_profile="arn:aws:iam::123456789012:instance-profile/web-profile",
            user_data="#!/bin/sh\n",
            tags={"team": "ops"},
        )
    )
    actions, predicted = inst.plan_create(desired)
    metadata = {"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}
    assert [(action.operation, action.args) for action in actions] == [
        (
            "RunInstances",
            {
                "request": {
                    "ImageId": AMI,
                    "InstanceType": "t3.micro",
                    "MetadataOptions": {
                        "HttpTokens": "required",
                        "HttpPutResponseHopLimit": 1,
                        "HttpEndpoint": "enabled",
                    },
                    "TagSpecifications": [
                        {
                            "ResourceType": "instance",
                            "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "team", "Value": "ops"}],
                        }
                    ],
                    "KeyName": "ops",
                    "SubnetId": "subnet-0123abcd",
                    "SecurityGroupIds": ["sg-0123abcd"],
                    "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/web-profile"},
                    "UserData": "#!/bin/sh\n",
                }
            },
        )
    ]
    assert predicted == {
        "instance_id": None,
        "state": "running",
        "image_id": AMI,
        "instance_type": "t3.micro",
        "key_name": "ops",
        "subnet_id": "subnet-0123abcd",
        "security_group_ids": ["sg-0123abcd"],
        "iam_instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/web-profile",
        "metadata_options": metadata,
        "tags": {"team": "ops", "Name": "web"},
        "availability_zone": None,
        "placement_group": None,
        "detailed_monitoring": False,
        "ebs_optimized": None,
    }
    by_name = inst.plan_create(inst.desired_instance(params(instance_profile="web-profile")))[0]
    assert by_name[0].args["request"]["IamInstanceProfile"] == {"Name": "web-profile"}


# --- the association handlers, through run() against moto in-process -------------------------


def settling_associations(clients, answer_error, failing_first):
    """AssociateIamInstanceProfile and its replacement answer "Invalid IAM Instance Profile name"
    once (the profile is propagating), and the first read of the associations after the change
    shows it "associating". Returns the reads made after the change, in order."""
    not_ready = answer_error(
        "InvalidParameterValue", "Invalid IAM Instance Profile name", "AssociateIamInstanceProfile"
    )
    changed = []

    def changing(real):
        def call(**kwargs):
            answer = real(**kwargs)
            changed.append(kwargs)
            return answer

        return failing_first(call, [not_ready])

    clients.ec2.associate_iam_instance_profile = changing(clients.ec2.associate_iam_instance_profile)
    clients.ec2.replace_iam_instance_profile_association = changing(
        clients.ec2.replace_iam_instance_profile_association
    )
    real_describe = clients.ec2.describe_iam_instance_profile_associations
    reads_after = []

    def describe(**kwargs):
        answer = real_describe(**kwargs)
        if changed:
            reads_after.append(kwargs)
            if len(reads_after) == 1:
                for item in answer["IamInstanceProfileAssociations"]:
                    item["State"] = "associating"
        return answer

    clients.ec2.describe_iam_instance_profile_associations = describe
    return reads_after


def associated_profiles(clients, instance_id):
    """The profiles EC2 serves the instance's credentials from (moto leaves the instance's own
    IamInstanceProfile field as launched; the association is what counts)."""
    answer = clients.ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}]
    )
    return [
        item["IamInstanceProfile"]["Arn"].rsplit("/", 1)[-1]
        for item in answer["IamInstanceProfileAssociations"]
        if item["State"] == "associated"
    ]


@pytest.mark.parametrize(
    ("launched_with", "operation", "method"),
    [
        (None, "AssociateIamInstanceProfile", "associate_iam_instance_profile"),
        ("other-profile", "ReplaceIamInstanceProfileAssociation", "replace_iam_instance_profile_association"),
    ],
)
def test_a_profile_is_associated_retried_while_it_propagates_and_waited_for(
    clients, answer_error, failing_first, fake_time, launched_with, operation, method
):
    make_profile(clients)
    make_profile(clients, name="other-profile", role="other-role")
    launched = inst.run(params(instance_profile=launched_with), clients, False, False)["instance"]
    reads_after = settling_associations(clients, answer_error, failing_first)
    result = inst.run(params(), clients, False, False)
    assert result["operations"] == [operation]
    assert getattr(clients.ec2, method).attempts == 2
    assert result["retries"] == [{"operation": operation, "error": "InvalidParameterValue"}]
    assert len(reads_after) >= 2  # waited past "associating"
    assert result["instance"]["iam_instance_profile_arn"].endswith(":instance-profile/web-profile")
    assert associated_profiles(clients, launched["instance_id"]) == ["web-profile"]


def test_terminate_without_wait_reads_nothing_after_and_reports_the_instance_gone(fake_time):
    fake = FakeEc2(fake_instance("running"))
    result = run_fake(fake, state="absent", wait=False)
    # The protection is read first, so a protected instance is refused before any call.
    assert fake.calls == ["DescribeInstances", "DescribeInstanceAttribute", "TerminateInstances"]
    assert (result["changed"], result["instance"]) == (True, {})


def test_check_mode_terminate_predicts_no_instance():
    fake = FakeEc2(fake_instance("running"))
    result = run_fake(fake, check_mode=True, state="absent")
    assert (result["operations"], result["instance"], fake.mutating()) == (["TerminateInstances"], {}, [])


def test_drift_is_warned_by_the_run_too():
    fake = FakeEc2(fake_instance("running"))
    result = run_fake(fake, instance_type="m5.large")
    assert (result["changed"], fake.mutating()) == (False, [])
    assert result["warnings"] == ["instance_type is 't3.micro', not 'm5.large'; it is not changed in place"]


def test_purge_tags_false_keeps_the_tags_not_named(fake_time):
    tags = [{"Key": "Name", "Value": "web"}, {"Key": "owner", "Value": "ops"}]
    fake = FakeEc2(fake_instance("running", tags=tags))
    result = run_fake(fake, tags={"team": "a"}, purge_tags=False)
    assert fake.mutating() == ["CreateTags"]
    assert fake.instances["i-0123456789abcdef0"]["tags"] == {"Name": "web", "owner": "ops", "team": "a"}
    assert result["instance"]["tags"] == {"Name": "web", "owner": "ops", "team": "a"}


def test_profile_wait_timeout_is_the_budget_for_a_profile_that_is_not_ready(clients, monkeypatch, fake_time):
    make_profile(clients)
    flaky_run_instance(monkeypatch, 10_000)
    with pytest.raises(KeylessAwsError, match="did not become usable by EC2 in 5 seconds"):
        inst.run(params(profile_wait_timeout=5), clients, False, False)
    assert fake_time.now <= 5


# --- launch options (issue 15): validation, launch request, live changes, warnings ---------------

GP3 = {"volume_size": 30, "volume_type": "gp3", "iops": 4000, "throughput": 250, "encrypted": True}
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def root_volume(**suboptions):
    """The root_volume dict as AnsibleModule hands it over: every suboption, None where unset."""
    return {key: suboptions.get(key) for key in inst.ROOT_VOLUME_API_KEYS} | suboptions


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"root_volume": root_volume(volume_size=0)}, "root_volume.volume_size: must be between 1 and 65536"),
        (
            {"root_volume": root_volume(volume_size=16385, volume_type="gp3")},
            "root_volume.volume_size: must be between 1 and 16384 GiB for volume_type gp3",
        ),
        (
            {"root_volume": root_volume(volume_size=124, volume_type="st1")},
            "root_volume.volume_size: must be between 125 and 16384 GiB for volume_type st1",
        ),
        (
            {"root_volume": root_volume(volume_size=1025, volume_type="standard")},
            "root_volume.volume_size: must be between 1 and 1024 GiB for volume_type standard",
        ),
        (
            {"root_volume": root_volume(volume_size=3, volume_type="io1", iops=100)},
            "root_volume.volume_size: must be between 4 and 16384 GiB for volume_type io1",
        ),
        (
            {"root_volume": root_volume(volume_type="gp2", iops=3000)},
            "root_volume.iops: is valid only with volume_type io1, io2 or gp3",
        ),
        ({"root_volume": root_volume(iops=3000)}, "root_volume.iops: is valid only with volume_type io1"),
        (
            {"root_volume": root_volume(volume_type="io2")},
            "root_volume.iops: is required with volume_type io2",
        ),
        (
            {"root_volume": root_volume(volume_type="gp3", iops=2999)},
            "root_volume.iops: must be between 3000 and 16000 for volume_type gp3",
        ),
        (
            {"root_volume": root_volume(volume_type="io1", iops=64001)},
            "root_volume.iops: must be between 100 and 64000 for volume_type io1",
        ),
        (
            {"root_volume": root_volume(volume_type="io2", iops=99)},
            "root_volume.iops: must be between 100 and 256000 for volume_type io2",
        ),
        (
            {"root_volume": root_volume(volume_type="gp2", throughput=125)},
            "root_volume.throughput: is valid only with volume_type gp3",
        ),
        (
            {"root_volume": root_volume(volume_type="gp3", throughput=1001)},
            "root_volume.throughput: must be between 125 and 1000 MiB/s for gp3",
        ),
        ({"root_volume": root_volume(kms_key_id=KEY_ARN)}, "root_volume.kms_key_id: needs encrypted: true"),
        (
            {"root_volume": root_volume(kms_key_id="my key", encrypted=True)},
            "root_volume.kms_key_id: must be a KMS key ARN, key id, alias ARN or alias/name",
        ),
        ({"availability_zone": "us-east-1"}, "availability_zone: must be an Availability Zone name"),
        ({"placement_group": "p" * 256}, "placement_group: must be 1 to 255 characters"),
        (
            {"state": "absent", "termination_protection": True},
            "termination_protection: cannot be true with state absent",
        ),
    ],
)
def test_launch_options_are_refused_naming_the_field_and_the_rule(overrides, message):
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}"):
        inst.desired_instance(params(**overrides))


@pytest.mark.parametrize(
    "volume",
    [
        root_volume(volume_size=16384, volume_type="gp2"),
        root_volume(volume_size=65536, volume_type="io2", iops=256000),
        root_volume(volume_size=4, volume_type="io1", iops=100),
        root_volume(volume_size=125, volume_type="sc1"),
        root_volume(volume_type="gp3", iops=16000, throughput=1000),
        root_volume(encrypted=True, kms_key_id=KEY_ARN),
        root_volume(encrypted=True, kms_key_id="1234abcd-12ab-34cd-56ef-1234567890ab"),
        root_volume(encrypted=True, kms_key_id="mrk-1234abcd12ab34cd56ef1234567890ab"),
        root_volume(encrypted=True, kms_key_id="alias/ebs-root"),
        root_volume(encrypted=True, kms_key_id="arn:aws:kms:eu-west-1:123456789012:alias/ebs-root"),
    ],
)
def test_what_ebs_accepts_is_taken_as_given(volume):
    desired = inst.desired_instance(params(root_volume=volume))
    assert desired.root_volume == {key: value for key, value in volume.items() if value is not None}


def test_the_amazon_aws_names_are_aliases_of_ours():
    options = inst.OPTIONS
    assert options["subnet_id"]["aliases"] == ["vpc_subnet_id"]
    assert options["instance_profile"]["aliases"] == ["iam_instance_profile", "instance_role"]
    assert "aliases" not in options["security_group_ids"]  # amazon.aws takes group names too
    assert options["root_volume"]["options"]["volume_size"]["aliases"] == ["size"]


def request_of(**overrides):
    actions, predicted = inst.plan_create(inst.desired_instance(params(**overrides)), "/dev/xvda")
    return actions[0].args["request"], predicted


def test_a_public_ip_choice_moves_subnet_and_groups_into_the_primary_interface():
    request, _unused = request_of(
        subnet_id="subnet-0123abcd", security_group_ids=["sg-0123abcd"], network={"assign_public_ip": False}
    )
    assert request["NetworkInterfaces"] == [
        {
            "DeviceIndex": 0,
            "AssociatePublicIpAddress": False,
            "SubnetId": "subnet-0123abcd",
            "Groups": ["sg-0123abcd"],
        }
    ]
    assert "SubnetId" not in request
    assert "SecurityGroupIds" not in request
    bare, _unused = request_of(network={"assign_public_ip": True})
    assert bare["NetworkInterfaces"] == [{"DeviceIndex": 0, "AssociatePublicIpAddress": True}]
    unset, _unused = request_of(subnet_id="subnet-0123abcd", network={"assign_public_ip": None})
    assert (unset["SubnetId"], "NetworkInterfaces" in unset) == ("subnet-0123abcd", False)


def test_launch_settings_are_sent_as_run_instances_names_them_and_predicted():
    request, predicted = request_of(
        root_volume=root_volume(**GP3, delete_on_termination=False),
        availability_zone="us-east-1b",
        placement_group="web-cluster",
        termination_protection=True,
        instance_initiated_shutdown_behavior="terminate",
        detailed_monitoring=True,
        ebs_optimized=True,
    )
    assert request["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeSize": 30,
                "VolumeType": "gp3",
                "Iops": 4000,
                "Throughput": 250,
                "Encrypted": True,
                "DeleteOnTermination": False,
            },
        }
    ]
    assert request["Placement"] == {"AvailabilityZone": "us-east-1b", "GroupName": "web-cluster"}
    assert (request["DisableApiTermination"], request["InstanceInitiatedShutdownBehavior"]) == (
        True,
        "terminate",
    )
    assert (request["Monitoring"], request["EbsOptimized"]) == ({"Enabled": True}, True)
    assert {key: predicted[key] for key in inst.DIFF_KEYS[6:]} == {
        "availability_zone": "us-east-1b",
        "placement_group": "web-cluster",
        "detailed_monitoring": True,
        "ebs_optimized": True,
        "termination_protection": True,
        "instance_initiated_shutdown_behavior": "terminate",
        "root_volume": {"volume_id": None, **GP3, "delete_on_termination": False},
    }


def test_false_is_sent_too_and_unset_options_are_not():
    request, predicted = request_of(
        termination_protection=False, detailed_monitoring=False, ebs_optimized=False
    )
    assert (request["DisableApiTermination"], request["Monitoring"], request["EbsOptimized"]) == (
        False,
        {"Enabled": False},
        False,
    )
    plain, predicted = request_of()
    sent = {"Placement", "BlockDeviceMappings", "DisableApiTermination", "Monitoring", "EbsOptimized"}
    assert sent & set(plain) == set()
    assert "termination_protection" not in predicted


def test_a_root_volume_needs_the_image_found_and_fails_before_any_launch():
    desired = inst.desired_instance(params(root_volume=root_volume(volume_size=20)))
    with pytest.raises(KeylessAwsError, match=f"image {AMI} was not found .DescribeImages.") as caught:
        inst.plan_create(desired, None)
    assert caught.value.code == "ImageNotFound"
    fake = FakeEc2()
    fake.images = []
    with pytest.raises(KeylessAwsError, match="root_volume needs the image's root device name"):
        run_fake(fake, root_volume=root_volume(volume_size=20))
    assert (fake.calls[-1], fake.mutating()) == ("DescribeImages", [])


def test_without_root_volume_the_image_is_not_asked():
    fake = FakeEc2()
    run_fake(fake, check_mode=True)
    assert "DescribeImages" not in fake.calls


def settings(**overrides):
    return current(
        **{"termination_protection": False, "instance_initiated_shutdown_behavior": "stop", **overrides}
    )


def test_protection_and_shutdown_behaviour_change_with_one_call_each():
    desired = inst.desired_instance(
        params(termination_protection=True, instance_initiated_shutdown_behavior="terminate")
    )
    actions, predicted = inst.plan_update(settings(), desired)
    assert [(action.operation, dict(action.args)) for action in actions] == [
        ("ModifyInstanceAttribute", {"attribute": "disableApiTermination", "value": True}),
        ("ModifyInstanceAttribute", {"attribute": "instanceInitiatedShutdownBehavior", "value": "terminate"}),
    ]
    assert (predicted["termination_protection"], predicted["instance_initiated_shutdown_behavior"]) == (
        True,
        "terminate",
    )
    same = settings(termination_protection=True, instance_initiated_shutdown_behavior="terminate")
    assert inst.plan_update(same, desired)[0] == []


@pytest.mark.parametrize(
    ("monitored", "wanted", "operations"),
    [
        (False, True, ["MonitorInstances"]),
        (True, False, ["UnmonitorInstances"]),
        (True, True, []),
        (False, None, []),
    ],
)
def test_detailed_monitoring_is_turned_on_or_off(monitored, wanted, operations):
    desired = inst.desired_instance(params(detailed_monitoring=wanted))
    actions, predicted = inst.plan_update(current(detailed_monitoring=monitored), desired)
    assert ops(actions) == operations
    assert predicted["detailed_monitoring"] is (monitored if wanted is None else wanted)


@pytest.mark.parametrize(
    ("state", "on"), [("pending", True), ("enabled", True), ("disabling", False), ("disabled", False)]
)
def test_a_monitoring_state_on_its_way_counts_as_where_it_goes(state, on):
    assert (
        inst.instance_view({"InstanceId": INSTANCE, "Monitoring": {"State": state}})["detailed_monitoring"]
        is on
    )


@pytest.mark.parametrize(
    ("state", "wanted", "operations"),
    [
        ("stopped", "stopped", ["ModifyInstanceAttribute"]),
        ("stopped", "running", ["ModifyInstanceAttribute", "StartInstances"]),
        ("running", "stopped", ["StopInstances", "ModifyInstanceAttribute"]),
        ("stopping", "running", ["ModifyInstanceAttribute", "StartInstances"]),
        ("running", "running", []),
        ("pending", "running", []),
    ],
)
def test_the_instance_type_changes_only_while_stopped(state, wanted, operations):
    desired = inst.desired_instance(params(state=wanted, instance_type="t3.large"))
    actions, predicted = inst.plan_update(current(state=state), desired)
    assert ops(actions) == operations
    warned = [
        warning
        for warning in inst.drift_warnings(current(state=state), desired)
        if "instance_type" in warning
    ]
    if operations:
        resize = actions[ops(actions).index("ModifyInstanceAttribute")].args
        assert (resize["attribute"], resize["value"], predicted["instance_type"]) == (
            "instanceType",
            "t3.large",
            "t3.large",
        )
        # Waited for unless seen stopped: a stop just made may still be under way.
        assert resize.get("wait_first") == (None if state == "stopped" else "stopped")
        assert warned == []
    else:
        assert warned == ["instance_type is 't3.micro', not 't3.large'; it is not changed in place"]


def test_absent_refuses_a_protected_instance_unless_the_task_turns_protection_off():
    protected = current(termination_protection=True)
    with pytest.raises(
        KeylessAwsError, match=r"i-0123456789abcdef0 \(web\) has termination protection on"
    ) as caught:
        inst.plan_update(protected, inst.desired_instance(params(state="absent")))
    assert caught.value.code == "TerminationProtected"
    actions, _unused = inst.plan_update(
        protected, inst.desired_instance(params(state="absent", termination_protection=False))
    )
    assert [(action.operation, dict(action.args)) for action in actions] == [
        ("ModifyInstanceAttribute", {"attribute": "disableApiTermination", "value": False}),
        ("TerminateInstances", {}),
    ]
    unprotected = current(termination_protection=False)
    actions, _unused = inst.plan_update(
        unprotected, inst.desired_instance(params(state="absent", termination_protection=False))
    )
    assert ops(actions) == ["TerminateInstances"]


def test_launch_only_settings_that_differ_are_warnings():
    desired = inst.desired_instance(
        params(availability_zone="us-east-1b", placement_group="web-cluster", ebs_optimized=True)
    )
    found = current(availability_zone="us-east-1a", placement_group=None, ebs_optimized=False)
    assert inst.drift_warnings(found, desired) == [
        "availability_zone is 'us-east-1a', not 'us-east-1b'; it is not changed in place",
        "placement_group is None, not 'web-cluster'; it is not changed in place",
        "ebs_optimized is False, not True; it is not changed in place",
    ]
    assert inst.plan_update(found, desired)[0] == []
    same = current(availability_zone="us-east-1b", placement_group="web-cluster", ebs_optimized=True)
    assert inst.drift_warnings(same, desired) == []


@pytest.mark.parametrize(
    ("state", "address", "wanted", "warnings"),
    [
        ("running", None, True, ["network.assign_public_ip is True but the instance has no public IP"]),
        (
            "running",
            "203.0.113.5",
            False,
            ["network.assign_public_ip is False but the instance has public IP 203.0.113.5"],
        ),
        ("running", "203.0.113.5", True, []),
        ("running", None, False, []),
        ("stopped", None, True, []),  # a stopped instance has no public address, whatever it had
        ("running", None, None, []),
    ],
)
def test_a_public_address_that_differs_is_a_warning_while_running(state, address, wanted, warnings):
    desired = inst.desired_instance(params(network={"assign_public_ip": wanted}))
    found = inst.drift_warnings(current(state=state, public_ip_address=address), desired)
    assert [warning.split(";", maxsplit=1)[0] for warning in found] == warnings


def test_root_volume_differences_are_warnings_for_the_suboptions_given():
    volume = {
        "volume_id": "vol-1",
        "volume_size": 8,
        "volume_type": "gp3",
        "iops": 3000,
        "throughput": 125,
        "encrypted": True,
        "kms_key_id": KEY_ARN,
        "delete_on_termination": True,
    }
    wanted = {"volume_size": 30, "volume_type": "gp3", "kms_key_id": "1234abcd-12ab-34cd-56ef-1234567890ab"}
    assert inst.root_volume_warnings(volume, wanted) == [
        "root_volume.volume_size is 8, not 30; it is not changed in place"
    ]
    assert inst.root_volume_warnings(volume, {"kms_key_id": "alias/anything", "iops": 3000}) == []
    assert inst.root_volume_warnings(volume, {"kms_key_id": KEY_ARN.replace("1234abcd", "9999abcd")}) == [
        f"root_volume.kms_key_id is {KEY_ARN!r}, not {KEY_ARN.replace('1234abcd', '9999abcd')!r}; "
        "it is not changed in place"
    ]
    assert inst.root_volume_warnings(None, wanted) == []


IMDSV1_OPEN = {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}


@pytest.mark.parametrize(
    ("metadata_options", "tokens", "warned"),
    [
        (None, "optional", True),
        ({"http_put_response_hop_limit": 2}, "optional", True),
        ({"http_tokens": "optional"}, "optional", False),
        ({"http_tokens": "required"}, "optional", False),
        (None, "required", False),
    ],
    ids=["no-options", "hop-limit-only", "optional-asked", "required-asked", "already-v2"],
)
def test_an_instance_that_serves_imdsv1_is_a_warning_unless_the_task_says_http_tokens(
    metadata_options, tokens, warned
):
    desired = inst.desired_instance(params(metadata_options=metadata_options))
    found = inst.drift_warnings(current(metadata_options={**IMDSV1_OPEN, "http_tokens": tokens}), desired)
    imdsv1 = [warning for warning in found if "IMDSv1" in warning]
    assert imdsv1 == (
        [
            "the instance's metadata service answers without a token (IMDSv1: http_tokens is optional) and "
            "the task does not set metadata_options.http_tokens, so it is not changed; set "
            "metadata_options.http_tokens: required to turn IMDSv1 off"
        ]
        if warned
        else []
    )


def test_an_imdsv1_instance_is_warned_about_and_not_changed_without_http_tokens(fake_time):
    raw = fake_instance("running")
    raw["MetadataOptions"] = {
        "HttpTokens": "optional",
        "HttpPutResponseHopLimit": 1,
        "HttpEndpoint": "enabled",
    }
    fake = FakeEc2(raw)
    result = run_fake(fake, metadata_options=None)
    assert (result["changed"], result["operations"]) == (False, [])
    assert any("IMDSv1" in warning for warning in result["warnings"])
    assert fake.instances["i-0123456789abcdef0"]["MetadataOptions"]["HttpTokens"] == "optional"


def test_settings_are_read_only_when_the_task_names_them(fake_time):
    fake = FakeEc2(fake_instance("running"))
    result = run_fake(fake)
    assert result["changed"] is False
    assert fake.calls == ["DescribeInstances"]
    assert "termination_protection" not in result["instance"]
    fake.calls.clear()
    run_fake(fake, termination_protection=False, instance_initiated_shutdown_behavior="stop")
    assert fake.calls == ["DescribeInstances", "DescribeInstanceAttribute", "DescribeInstanceAttribute"]


def test_live_changes_are_made_then_hold(fake_time):
    fake = FakeEc2()
    wanted = {
        "termination_protection": True,
        "instance_initiated_shutdown_behavior": "terminate",
        "detailed_monitoring": True,
    }
    launched = run_fake(fake, root_volume=root_volume(**GP3))
    instance_id = launched["instance"]["instance_id"]
    assert launched["instance"]["root_volume"] == {
        "volume_id": "vol-00000000000000001",
        **GP3,
        "kms_key_id": None,
        "delete_on_termination": True,
    }
    fake.calls.clear()
    changed = run_fake(fake, **wanted)
    assert changed["operations"] == ["ModifyInstanceAttribute", "ModifyInstanceAttribute", "MonitorInstances"]
    raw = fake.instances[instance_id]
    assert raw["attributes"] == {
        "disableApiTermination": True,
        "instanceInitiatedShutdownBehavior": "terminate",
    }
    assert raw["Monitoring"] == {"State": "pending"}  # pending counts as on: the second run changes nothing
    assert {key: changed["instance"][key] for key in wanted} == wanted
    again = run_fake(fake, **wanted)
    assert (again["changed"], again["operations"]) == (False, [])
    refused = pytest.raises(KeylessAwsError, match="has termination protection on")
    with refused:
        run_fake(fake, state="absent")
    assert fake.instances[instance_id]["state"] == "running"
    gone = run_fake(fake, state="absent", termination_protection=False)
    assert gone["operations"] == ["ModifyInstanceAttribute", "TerminateInstances"]
    assert fake.instances[instance_id]["state"] == "terminated"


def test_check_mode_predicts_live_changes_and_calls_nothing(fake_time):
    fake = FakeEc2(fake_instance("running"))
    fake.instances["i-0123456789abcdef0"]["attributes"]["disableApiTermination"] = True
    wanted = {"instance_initiated_shutdown_behavior": "terminate", "detailed_monitoring": True}
    predicted = run_fake(fake, check_mode=True, state="stopped", instance_type="t3.large", **wanted)
    assert predicted["operations"] == [
        "ModifyInstanceAttribute",
        "MonitorInstances",
        "StopInstances",
        "ModifyInstanceAttribute",
    ]
    assert {key: predicted["instance"][key] for key in ("state", "instance_type", *wanted)} == {
        "state": "stopped",
        "instance_type": "t3.large",
        **wanted,
    }
    gone = run_fake(fake, check_mode=True, state="absent", termination_protection=False)
    assert (gone["operations"], gone["instance"]) == (["ModifyInstanceAttribute", "TerminateInstances"], {})
    with pytest.raises(KeylessAwsError, match="has termination protection on"):
        run_fake(fake, check_mode=True, state="absent")
    assert fake.mutating() == []


def test_the_type_is_changed_once_the_stop_is_over_even_without_wait(fake_time):
    # AWS refuses a type change until the instance is stopped (IncorrectInstanceState); the fake
    # stays stopping for two reads.
    fake = FakeEc2(fake_instance("running"))
    result = run_fake(fake, state="stopped", instance_type="t3.large", wait=False)
    assert result["operations"] == ["StopInstances", "ModifyInstanceAttribute"]
    assert fake.instances["i-0123456789abcdef0"]["InstanceType"] == "t3.large"
    again = run_fake(fake, state="running", instance_type="t3.xlarge")
    assert again["operations"] == ["ModifyInstanceAttribute", "StartInstances"]
    assert (fake.instances["i-0123456789abcdef0"]["InstanceType"], again["instance"]["state"]) == (
        "t3.xlarge",
        "running",
    )


def test_the_root_volume_of_an_existing_instance_is_read_and_differences_warned(fake_time):
    fake = FakeEc2()
    run_fake(fake, root_volume=root_volume(volume_size=20, volume_type="gp3"))
    fake.calls.clear()
    result = run_fake(fake, root_volume=root_volume(volume_size=40, volume_type="gp3", encrypted=True))
    assert fake.calls.count("DescribeVolumes") == 1
    assert (result["changed"], result["warnings"]) == (
        False,
        [
            "root_volume.volume_size is 20, not 40; it is not changed in place",
            "root_volume.encrypted is False, not True; it is not changed in place",
        ],
    )


def test_diff_shows_the_launch_settings_the_task_read():
    resource = inst.InstanceResource(params(), FakeClients(FakeEc2()), True)
    before = current(termination_protection=False, detailed_monitoring=False, availability_zone="us-east-1a")
    shown = resource.diff_view(before)
    assert (shown["termination_protection"], shown["detailed_monitoring"], shown["availability_zone"]) == (
        False,
        False,
        "us-east-1a",
    )
    assert "root_volume" not in shown


def test_attributes_are_changed_in_the_form_ec2_reads_and_read_back(clients):
    # moto plays ModifyInstanceAttribute's Attribute/Value form for the shutdown behaviour only, and
    # the typed {"Value": ...} form for the others; a wrong form is silently ignored.
    ec2 = clients.ec2
    instance_id = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    _ec2.modify_instance_attribute(ec2, instance_id, "instanceInitiatedShutdownBehavior", "terminate")
    _ec2.modify_instance_attribute(ec2, instance_id, "disableApiTermination", True)
    assert _ec2.instance_attribute(ec2, instance_id, "instanceInitiatedShutdownBehavior") == "terminate"
    assert _ec2.instance_attribute(ec2, instance_id, "disableApiTermination") is True
    ec2.stop_instances(InstanceIds=[instance_id])
    _ec2.modify_instance_attribute(ec2, instance_id, "instanceType", "t3.large")
    assert _ec2.describe_instance(ec2, instance_id)["InstanceType"] == "t3.large"
    root_device = _ec2.image_root_device(ec2, AMI)
    assert root_device == _ec2.describe_instance(ec2, instance_id)["RootDeviceName"]
    assert _ec2.image_root_device(ec2, "ami-0123456789abcdef0") is None
