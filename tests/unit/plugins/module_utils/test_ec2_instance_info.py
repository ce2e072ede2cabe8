from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _ec2_instance_info as info
from ansible_collections.keyless.aws.plugins.module_utils._ec2_instance import instance_view
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError

AMI = "ami-12c6146b"
NAMED_STATES = ["pending", "running", "stopping", "stopped"]


def as_dict(filters: list[dict]) -> dict:
    return {item["Name"]: item["Values"] for item in filters}


# --- decisions (pure) --------------------------------------------------------------------------


def test_a_name_is_sent_escaped_and_limited_to_the_states_that_hold_a_name():
    assert as_dict(info.instance_filters({"name": "web-?*", "instance_ids": [], "filters": {}})) == {
        "tag:Name": ["web-\\?\\*"],
        "instance-state-name": NAMED_STATES,
    }


def test_states_in_the_filters_replace_the_named_states():
    params = {"name": "web", "filters": {"instance-state-name": ["terminated"]}}
    assert as_dict(info.instance_filters(params))["instance-state-name"] == ["terminated"]


def test_without_a_name_no_state_is_assumed_and_filters_go_as_given():
    params = {"instance_ids": ["i-1", "i-2"], "filters": {"tag:project": "logs", "ebs-optimized": True}}
    assert info.instance_filters(params) == [
        {"Name": "tag:project", "Values": ["logs"]},
        {"Name": "ebs-optimized", "Values": ["True"]},
        {"Name": "instance-id", "Values": ["i-1", "i-2"]},
    ]


def test_nothing_given_sends_no_filter():
    assert info.instance_filters({"instance_ids": [], "filters": {}}) == []


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        (
            {"instance_ids": ["i-1"], "filters": {"instance-id": "i-2"}},
            "instance_ids",
            "give instance ids here or as the instance-id filter, not both",
        ),
        (
            {"name": "web", "filters": {"tag:Name": "web"}},
            "name",
            "give the name here or as the tag:Name filter, not both",
        ),
        ({"name": ""}, "name", "must be 1 to 256 characters (it is the Name tag)"),
        ({"name": "n" * 257}, "name", "must be 1 to 256 characters (it is the Name tag)"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(params, field, rule):
    with pytest.raises(ValidationError) as err:
        info.validate_info_params(params)
    assert (err.value.field, err.value.rule) == (field, rule)


def _raw(instance_id: str, name: str | None, launched: datetime) -> dict:
    tags = [{"Key": "Name", "Value": name}] if name is not None else []
    return {"InstanceId": instance_id, "State": {"Name": "running"}, "Tags": tags, "LaunchTime": launched}


def test_select_keeps_the_exact_name_only_and_sorts_by_launch_then_id():
    early, late = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    raw = [
        _raw("i-c", "web-1", late),
        _raw("i-b", "web-?", late),  # what an endpoint reading "web-?" as a pattern would add
        _raw("i-a", "web-1", late),
        _raw("i-d", "web-1", early),
    ]
    assert [view["instance_id"] for view in info.select(raw, "web-1")] == ["i-d", "i-a", "i-c"]
    assert [view["instance_id"] for view in info.select(raw, None)] == ["i-d", "i-a", "i-b", "i-c"]


def test_options_are_amazon_aws_names_and_defaults():
    assert {key: option.get("default") for key, option in info.OPTIONS.items()} == {
        "name": None,
        "instance_ids": [],
        "filters": {},
    }


# --- run() against moto in-process, every call recorded ---------------------------------------


def _launch(ec2, name: str | None, **tags: str) -> str:
    tag_list = [{"Key": key, "Value": value} for key, value in ({"Name": name} if name else {}).items()]
    tag_list += [{"Key": key, "Value": value} for key, value in tags.items()]
    kwargs = {"TagSpecifications": [{"ResourceType": "instance", "Tags": tag_list}]} if tag_list else {}
    answer = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **kwargs)
    return answer["Instances"][0]["InstanceId"]


def _run(clients, **params):
    return info.run({"instance_ids": [], "filters": {}, **params}, clients, True, False)


def test_run_reads_the_named_instance_as_ec2_instance_shows_it_and_calls_describe_only(clients):
    ec2 = clients.ec2
    web = _launch(ec2, "web", project="logs")
    stopped = _launch(ec2, "web-stopped")
    ec2.stop_instances(InstanceIds=[stopped])
    gone = _launch(ec2, "web")
    ec2.terminate_instances(InstanceIds=[gone])
    _launch(ec2, "wEb")
    _launch(ec2, None)
    clients.reset()

    result = _run(clients, name="web")
    assert clients.calls == ["DescribeInstances"]

    raw = ec2.describe_instances(InstanceIds=[web])["Reservations"][0]["Instances"][0]
    assert result == {"changed": False, "instances": [instance_view(raw)]}
    assert result["instances"][0]["tags"] == {"Name": "web", "project": "logs"}


def test_run_finds_a_terminated_named_instance_when_the_filters_ask_for_it(clients):
    ec2 = clients.ec2
    gone = _launch(ec2, "web")
    ec2.terminate_instances(InstanceIds=[gone])
    live = _launch(ec2, "web")
    assert [view["instance_id"] for view in _run(clients, name="web")["instances"]] == [live]
    ended = _run(clients, name="web", filters={"instance-state-name": "terminated"})
    assert [(view["instance_id"], view["state"]) for view in ended["instances"]] == [(gone, "terminated")]


def test_run_by_ids_and_by_filters(clients):
    ec2 = clients.ec2
    first, second = _launch(ec2, "a", project="logs"), _launch(ec2, "b")
    _launch(ec2, "c", project="other")
    by_ids = _run(clients, instance_ids=[second, first, "i-0123456789abcdef0"])
    assert sorted(view["instance_id"] for view in by_ids["instances"]) == sorted([first, second])
    by_tag = _run(clients, filters={"tag:project": "logs"})
    assert [view["instance_id"] for view in by_tag["instances"]] == [first]
