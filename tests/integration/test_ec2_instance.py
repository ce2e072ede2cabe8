"""ec2_instance through ansible-playbook against the moto server, where moto plays AWS's behaviour.

Each test reads the outcome with boto3 from the server, not through the module. What moto does
not play (intermediate instance states, IncorrectInstanceState, refusing ``aws:`` tag deletes)
is tested in tests/unit/plugins/module_utils/test_ec2_instance.py with fake answers.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import aws_state
import awscalls
import boto3
import pytest
from harness import ACCESS_KEY, REGION, SECRET_KEY

PLAYBOOK = Path(__file__).parent / "playbooks" / "ec2_instance_task.yml"
IMAGE = "ami-12c6146b"  # moto accepts any image id unless told to validate them
SCRIPT = "#!/bin/sh\necho 'keyless user data' > /tmp/keyless-user-data\n"
# What the module gives a new instance when metadata_options is not set.
IMDSV2 = {"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}


def launched_state(name: str, **fields: Any) -> dict[str, Any]:
    """``aws_state.instance()`` of an instance the module launched with only a name and IMAGE.

    Subnet and groups are EC2's choice (the default VPC's) unless ``fields`` names them.
    """
    return {
        "id": ANY,
        "state": "running",
        "image": IMAGE,
        "profile": None,
        "metadata": IMDSV2,
        "user_data": None,
        "subnet": ANY,
        "groups": ANY,
        "key": None,
        "tags": {"Name": name},
        **fields,
    }


@pytest.fixture
def ec2(aws):
    return boto3.client(
        "ec2",
        endpoint_url=aws.url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def converge_instance(run_playbook, tmp_path):
    """``converge_instance(name=..., state=..., ...)``: one ec2_instance task; its result."""
    runs = itertools.count()

    def converge(check: bool = False, **options: Any) -> dict[str, Any]:
        results_file = tmp_path / f"instance-result-{next(runs)}.json"
        extra_vars = {f"instance_{option}": value for option, value in options.items()}
        extra_vars["results_file"] = str(results_file)
        result = run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check)
        assert result.rc == 0, result
        return json.loads(results_file.read_text())

    return converge


# What ec2_instance says of an instance that serves IMDSv1 when the task does not set http_tokens.
IMDSV1_WARNING = (
    "the instance's metadata service answers without a token (IMDSv1: http_tokens is optional) and "
    "the task does not set metadata_options.http_tokens, so it is not changed; set "
    "metadata_options.http_tokens: required to turn IMDSv1 off"
)


def launch_directly(ec2, name: str, **tags: str) -> str:
    """An instance made by someone else (boto3), as CloudFormation or a colleague would."""
    tag_list = [{"Key": key, "Value": value} for key, value in {"Name": name, **tags}.items()]
    answer = ec2.run_instances(
        ImageId=IMAGE,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}],
    )
    return answer["Instances"][0]["InstanceId"]


def described(ec2, instance_id: str) -> dict[str, Any]:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def state_of(ec2, instance_id: str) -> str:
    return described(ec2, instance_id)["State"]["Name"]


def tags_of(ec2, instance_id: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in described(ec2, instance_id).get("Tags", [])}


# --- user data: botocore encodes it; encoded twice, cloud-init gets base64 text -------------------


def test_user_data_reaches_the_instance_as_the_script_not_base64(converge_instance, ec2):
    launched = converge_instance(name="user-data", image_id=IMAGE, user_data=SCRIPT)
    assert launched["changed"] is True
    attribute = ec2.describe_instance_attribute(
        InstanceId=launched["instance"]["instance_id"], Attribute="userData"
    )
    # DescribeInstanceAttribute answers base64; decoded once it is the script itself.
    assert base64.b64decode(attribute["UserData"]["Value"]).decode() == SCRIPT
    assert aws_state.instance(ec2.meta.endpoint_url, "user-data") == launched_state(
        "user-data", id=launched["instance"]["instance_id"], user_data=SCRIPT
    )
    again = converge_instance(name="user-data", image_id=IMAGE, user_data=SCRIPT)
    assert again["changed"] is False


# --- the Name tag is an identity, not a pattern: EC2 filter values are wildcards -------------------


@pytest.mark.parametrize("name", ["web-?", "web-*"])
def test_a_wildcard_name_never_adopts_another_instance(converge_instance, ec2, name):
    other = launch_directly(ec2, "web-1")
    launched = converge_instance(name=name, image_id=IMAGE)
    assert launched["changed"] is True
    assert launched["operations"] == ["RunInstances"]
    assert launched["instance"]["instance_id"] != other
    assert aws_state.instance(ec2.meta.endpoint_url, name) == launched_state(
        name, id=launched["instance"]["instance_id"]
    )
    assert tags_of(ec2, other) == {"Name": "web-1"}
    # The wildcard name finds its own instance again (the escaped filter matches it literally).
    again = converge_instance(name=name, image_id=IMAGE)
    assert again["changed"] is False
    assert again["instance"]["instance_id"] == launched["instance"]["instance_id"]


@pytest.mark.parametrize("name", ["web-?", "web-*"])
def test_a_wildcard_name_absent_terminates_no_other_instance(converge_instance, ec2, name):
    others = [launch_directly(ec2, "web-1"), launch_directly(ec2, "web-12")]
    gone = converge_instance(name=name, state="absent")
    assert gone["changed"] is False
    assert gone["operations"] == []
    assert [state_of(ec2, other) for other in others] == ["running", "running"]


def test_absent_with_a_wildcard_name_terminates_only_its_own_instance(converge_instance, ec2):
    other = launch_directly(ec2, "web-1")
    own = launch_directly(ec2, "web-?")
    gone = converge_instance(name="web-?", state="absent")
    assert gone["operations"] == ["TerminateInstances"]
    assert (state_of(ec2, own), state_of(ec2, other)) == ("terminated", "running")


# --- tags: reserved aws: keys are AWS's, EC2 tags follow EC2's rules -------------------------------


def test_adopting_an_instance_with_aws_tags_keeps_them(converge_instance, ec2):
    # What CloudFormation leaves on an instance it made; AWS refuses to delete these keys.
    reserved = {"aws:cloudformation:stack-name": "web-stack", "aws:cloudformation:logical-id": "Web"}
    instance_id = launch_directly(ec2, "from-a-stack", team="old", **reserved)
    adopted = converge_instance(name="from-a-stack", tags={"team": "new"})
    assert adopted["changed"] is True
    assert adopted["operations"] == ["CreateTags"]
    assert tags_of(ec2, instance_id) == {"Name": "from-a-stack", "team": "new", **reserved}
    assert adopted["instance"]["tags"] == tags_of(ec2, instance_id)
    assert converge_instance(name="from-a-stack", tags={"team": "new"})["changed"] is False


def test_purging_to_no_tags_keeps_aws_tags(converge_instance, ec2):
    instance_id = launch_directly(ec2, "from-asg", team="x", **{"aws:autoscaling:groupName": "web-asg"})
    purged = converge_instance(name="from-asg", tags={})
    assert purged["operations"] == ["DeleteTags"]
    assert tags_of(ec2, instance_id) == {"Name": "from-asg", "aws:autoscaling:groupName": "web-asg"}


def test_ec2_tags_accept_what_ec2_accepts_and_iam_does_not(converge_instance, ec2):
    tags = {"cost center": "ops (eu)", "owners": "a,b", "k" * 127: "v" * 256}
    launched = converge_instance(name="ec2-tag-rules", image_id=IMAGE, tags=tags)
    assert launched["changed"] is True
    assert aws_state.instance(ec2.meta.endpoint_url, "ec2-tag-rules") == launched_state(
        "ec2-tag-rules", id=launched["instance"]["instance_id"], tags={"Name": "ec2-tag-rules", **tags}
    )


# --- branches a reviewer could break with every other test still green (issue 13) -------------


def test_two_live_instances_with_one_name_fail_naming_both_and_change_neither(converge_instance, ec2):
    first, second = launch_directly(ec2, "twin", team="a"), launch_directly(ec2, "twin", team="a")
    refused = converge_instance(name="twin", tags={"team": "b"}, may_fail=True)
    assert (refused["failed"], refused["error_code"]) == (True, "AmbiguousName")
    ids = ", ".join(sorted([first, second]))
    assert refused["msg"] == (
        f"more than one live instance is named twin ({ids}); name must identify one instance"
    )
    assert [tags_of(ec2, twin) for twin in (first, second)] == [{"Name": "twin", "team": "a"}] * 2
    assert [state_of(ec2, twin) for twin in (first, second)] == ["running", "running"]


def test_subnet_security_groups_key_and_user_data_are_sent_on_launch(converge_instance, ec2):
    # A VPC of its own: without SubnetId and SecurityGroupIds the instance would land in the
    # default VPC's subnet and group, so a launch that dropped them could not pass.
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="launch-sg", Description="issue 13", VpcId=vpc)["GroupId"]
    ec2.create_key_pair(KeyName="launch-key")
    launched = converge_instance(
        name="sent-on-launch",
        image_id=IMAGE,
        key_name="launch-key",
        subnet_id=subnet,
        security_group_ids=[group],
        user_data=SCRIPT,
    )
    assert launched["operations"] == ["RunInstances"]
    instance_id = launched["instance"]["instance_id"]
    raw = described(ec2, instance_id)
    assert (raw["VpcId"], raw["SubnetId"], raw["KeyName"]) == (vpc, subnet, "launch-key")
    assert [sg["GroupId"] for sg in raw["SecurityGroups"]] == [group]
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert base64.b64decode(attribute["UserData"]["Value"]).decode() == SCRIPT
    assert aws_state.instance(ec2.meta.endpoint_url, "sent-on-launch") == launched_state(
        "sent-on-launch", id=instance_id, subnet=subnet, groups=[group], key="launch-key", user_data=SCRIPT
    )


def test_a_profile_is_associated_with_an_instance_launched_without_one(converge_instance, ec2, aws):
    iam = boto3.client(
        "iam",
        endpoint_url=aws.url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    assume = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = {"Version": "2012-10-17", "Statement": [assume]}
    iam.create_role(RoleName="later-role", AssumeRolePolicyDocument=json.dumps(trust))
    profile_arn = iam.create_instance_profile(InstanceProfileName="later-profile")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="later-profile", RoleName="later-role")
    instance_id = launch_directly(ec2, "profile-later")
    by_instance = [{"Name": "instance-id", "Values": [instance_id]}]
    associations = ec2.describe_iam_instance_profile_associations
    assert associations(Filters=by_instance)["IamInstanceProfileAssociations"] == []
    # Nothing to replace: the profile is associated (a lost association fails in 30 s, not 300).
    associated = converge_instance(name="profile-later", instance_profile="later-profile", wait_timeout=30)
    assert associated["operations"] == ["AssociateIamInstanceProfile"]
    # It serves IMDSv1, which the task does not mention: said, and not changed unasked.
    assert associated["warnings"] == [IMDSV1_WARNING]
    (association,) = associations(Filters=by_instance)["IamInstanceProfileAssociations"]
    assert (association["State"], association["IamInstanceProfile"]["Arn"]) == ("associated", profile_arn)
    # Launched by someone else without metadata options: EC2's default (optional) is left alone.
    optional = {**IMDSV2, "http_tokens": "optional"}
    assert aws_state.instance(aws.url, "profile-later") == launched_state(
        "profile-later", id=instance_id, profile="later-profile", metadata=optional
    )


# --- launch options (issue 15) ----------------------------------------------------------------
# moto does not play: io1/io2 root volumes (it requires Iops of CreateVolume, which RunInstances
# does not pass on), a placement group that does not exist (moto has none; the sandbox accepts any
# name), top-level SecurityGroups of an instance launched with NetworkInterfaces (only on the
# interface). Those branches are unit tests with faked answers. The sandbox plays (Ec2Gaps in
# sandbox/aws_server.py) DisableApiTermination at launch, MonitorInstances/UnmonitorInstances,
# the placement group's name and a gp3 root volume's Iops and Throughput, which moto drops.


def attribute(ec2, instance_id: str, name: str) -> Any:
    answer = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute=name)
    return answer[name[0].upper() + name[1:]]["Value"]


def root_volume_of(ec2, instance_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The instance's root device mapping and its volume, as EC2 describes them."""
    raw = described(ec2, instance_id)
    (mapping,) = [item for item in raw["BlockDeviceMappings"] if item["DeviceName"] == raw["RootDeviceName"]]
    (volume,) = ec2.describe_volumes(VolumeIds=[mapping["Ebs"]["VolumeId"]])["Volumes"]
    return mapping, volume


def own_subnet(ec2) -> tuple[str, str]:
    """A subnet that gives instances a public address, and a security group, in a VPC of their own.

    The subnet maps public addresses on launch, so an instance without one shows that the
    launch request said no.
    """
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    group = ec2.create_security_group(GroupName="no-public", Description="issue 15", VpcId=vpc)["GroupId"]
    return subnet, group


def test_a_launch_without_a_public_ip_gets_none_and_keeps_its_subnet_and_groups(converge_instance, ec2, aws):
    subnet, group = own_subnet(ec2)
    awscalls.reset_calls(aws.url)
    # vpc_subnet_id: amazon.aws's name for subnet_id.
    task = {
        "name": "private",
        "image_id": IMAGE,
        "vpc_subnet_id": subnet,
        "security_group_ids": [group],
        "network": {"assign_public_ip": False},
    }
    predicted = converge_instance(check=True, **task)
    assert (predicted["changed"], predicted["operations"]) == (True, ["RunInstances"])
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    launched = converge_instance(**task)
    raw = described(ec2, launched["instance"]["instance_id"])
    assert "PublicIpAddress" not in raw
    assert raw["SubnetId"] == subnet
    (interface,) = raw["NetworkInterfaces"]
    assert [sg["GroupId"] for sg in interface["Groups"]] == [group]
    awscalls.reset_calls(aws.url)
    again = converge_instance(**task)
    assert (again["changed"], again.get("warnings")) == (False, None)
    # A public address cannot be added later: a warning, nothing changed.
    wanted_public = converge_instance(**{**task, "network": {"assign_public_ip": True}})
    assert wanted_public["changed"] is False
    assert wanted_public["warnings"] == [
        "network.assign_public_ip is True but the instance has no public IP; it is not changed in place"
    ]
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []


def test_a_public_ip_asked_for_is_given_in_a_subnet_that_gives_none(converge_instance, ec2):
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    task = {"name": "public", "image_id": IMAGE, "subnet_id": subnet, "network": {"assign_public_ip": True}}
    launched = converge_instance(**task)
    raw = described(ec2, launched["instance"]["instance_id"])
    assert raw["SubnetId"] == subnet
    assert raw["PublicIpAddress"] == launched["instance"]["public_ip_address"]
    assert launched["instance"]["public_ip_address"] is not None
    assert converge_instance(**task)["changed"] is False


LAUNCH_SETTINGS = {
    "root_volume": {
        "volume_size": 20,
        "volume_type": "gp3",
        "iops": 4000,
        "throughput": 250,
        "encrypted": True,
        "delete_on_termination": False,
    },
    "availability_zone": f"{REGION}b",
    "placement_group": "keyless-cluster",
    "shutdown_behavior": "terminate",
    "detailed_monitoring": True,
    "ebs_optimized": True,
}


def test_launch_settings_are_launched_read_back_and_hold(converge_instance, ec2, aws):
    task = {"name": "settings", "image_id": IMAGE, **LAUNCH_SETTINGS}
    predicted = converge_instance(check=True, **task)
    assert predicted["operations"] == ["RunInstances"]
    assert predicted["instance"]["root_volume"] == {"volume_id": None, **LAUNCH_SETTINGS["root_volume"]}
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []

    launched = converge_instance(**task)
    instance_id = launched["instance"]["instance_id"]
    raw = described(ec2, instance_id)
    placement = (raw["Placement"]["AvailabilityZone"], raw["Placement"]["GroupName"])
    assert placement == (f"{REGION}b", "keyless-cluster")
    assert (raw["Monitoring"]["State"], raw["EbsOptimized"]) == ("enabled", True)
    assert attribute(ec2, instance_id, "instanceInitiatedShutdownBehavior") == "terminate"
    mapping, volume = root_volume_of(ec2, instance_id)
    assert (volume["Size"], volume["VolumeType"], volume["Encrypted"]) == (20, "gp3", True)
    assert (volume["Iops"], volume["Throughput"]) == (4000, 250)
    assert mapping["Ebs"]["DeleteOnTermination"] is False
    assert launched["instance"]["root_volume"]["volume_id"] == volume["VolumeId"]
    shown = launched["instance"]
    assert (shown["availability_zone"], shown["placement_group"], shown["detailed_monitoring"]) == (
        f"{REGION}b",
        "keyless-cluster",
        True,
    )

    awscalls.reset_calls(aws.url)
    again = converge_instance(**task)
    assert (again["changed"], again["operations"], again.get("warnings")) == (False, [], None)
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []


def test_a_root_volume_for_an_image_that_is_not_there_fails_before_any_change(converge_instance, aws):
    refused = converge_instance(
        name="no-image", image_id="ami-0123456789abcdef0", root_volume={"volume_size": 20}, may_fail=True
    )
    assert (refused["failed"], refused["error_code"]) == (True, "ImageNotFound")
    assert refused["msg"] == (
        "image ami-0123456789abcdef0 was not found (DescribeImages); "
        "root_volume needs the image's root device name"
    )
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []


def test_termination_protection_is_set_held_and_guards_absent(converge_instance, ec2, aws):
    instance_id = launch_directly(ec2, "guarded")
    predicted = converge_instance(check=True, name="guarded", termination_protection=True)
    assert predicted["operations"] == ["ModifyInstanceAttribute"]
    assert attribute(ec2, instance_id, "disableApiTermination") is False
    protected = converge_instance(name="guarded", termination_protection=True)
    assert (protected["operations"], protected["instance"]["termination_protection"]) == (
        ["ModifyInstanceAttribute"],
        True,
    )
    assert attribute(ec2, instance_id, "disableApiTermination") is True
    assert converge_instance(name="guarded", termination_protection=True)["changed"] is False

    awscalls.reset_calls(aws.url)
    refused = converge_instance(name="guarded", state="absent", may_fail=True)
    assert (refused["failed"], refused["error_code"]) == (True, "TerminationProtected")
    assert refused["msg"] == (
        f"instance {instance_id} (guarded) has termination protection on; set termination_protection: "
        "false in this task to turn it off and terminate the instance"
    )
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    assert state_of(ec2, instance_id) == "running"

    gone = converge_instance(name="guarded", state="absent", termination_protection=False)
    assert gone["operations"] == ["ModifyInstanceAttribute", "TerminateInstances"]
    assert state_of(ec2, instance_id) == "terminated"


def test_shutdown_behaviour_and_the_type_of_a_stopped_instance_are_changed(converge_instance, ec2, aws):
    instance_id = launch_directly(ec2, "resized")
    behaviour = converge_instance(name="resized", shutdown_behavior="terminate")
    assert behaviour["operations"] == ["ModifyInstanceAttribute"]
    assert attribute(ec2, instance_id, "instanceInitiatedShutdownBehavior") == "terminate"
    assert converge_instance(name="resized", shutdown_behavior="terminate")["changed"] is False

    # Running and kept running: the type is only warned about, never changed by a stop unasked.
    awscalls.reset_calls(aws.url)
    kept = converge_instance(name="resized", instance_type="t3.small")
    assert (kept["changed"], kept["warnings"]) == (
        False,
        ["instance_type is 'm1.small', not 't3.small'; it is not changed in place", IMDSV1_WARNING],
    )
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []

    predicted = converge_instance(check=True, name="resized", state="stopped", instance_type="t3.small")
    assert predicted["operations"] == ["StopInstances", "ModifyInstanceAttribute"]
    assert (predicted["instance"]["state"], predicted["instance"]["instance_type"]) == ("stopped", "t3.small")
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    stopped = converge_instance(name="resized", state="stopped", instance_type="t3.small")
    assert stopped["operations"] == ["StopInstances", "ModifyInstanceAttribute"]
    assert (state_of(ec2, instance_id), described(ec2, instance_id)["InstanceType"]) == (
        "stopped",
        "t3.small",
    )
    started = converge_instance(name="resized", instance_type="t3.medium")
    assert started["operations"] == ["ModifyInstanceAttribute", "StartInstances"]
    assert (state_of(ec2, instance_id), described(ec2, instance_id)["InstanceType"]) == (
        "running",
        "t3.medium",
    )
    assert converge_instance(name="resized", instance_type="t3.medium")["changed"] is False


# The sandbox plays these two (sandbox/aws_server.py, Ec2Gaps): moto ignores DisableApiTermination
# at launch and does not implement MonitorInstances / UnmonitorInstances.


def test_an_instance_launched_protected_is_protected_and_stays_unchanged(converge_instance, ec2, aws):
    task = {"name": "born-guarded", "image_id": IMAGE, "termination_protection": True}
    launched = converge_instance(**task)
    instance_id = launched["instance"]["instance_id"]
    assert launched["instance"]["termination_protection"] is True
    assert attribute(ec2, instance_id, "disableApiTermination") is True
    awscalls.reset_calls(aws.url)
    again = converge_instance(**task)
    assert (again["changed"], again["operations"]) == (False, [])
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    gone = converge_instance(name="born-guarded", state="absent", termination_protection=False)
    assert gone["operations"] == ["ModifyInstanceAttribute", "TerminateInstances"]
    assert state_of(ec2, instance_id) == "terminated"


def test_detailed_monitoring_is_turned_on_and_off_on_a_live_instance(converge_instance, ec2, aws):
    instance_id = launch_directly(ec2, "watched")
    assert described(ec2, instance_id)["Monitoring"]["State"] == "disabled"
    awscalls.reset_calls(aws.url)
    predicted = converge_instance(check=True, name="watched", detailed_monitoring=True)
    assert (predicted["operations"], predicted["instance"]["detailed_monitoring"]) == (
        ["MonitorInstances"],
        True,
    )
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    on = converge_instance(name="watched", detailed_monitoring=True)
    assert on["operations"] == ["MonitorInstances"]
    assert described(ec2, instance_id)["Monitoring"]["State"] == "enabled"
    assert converge_instance(name="watched", detailed_monitoring=True)["changed"] is False
    off = converge_instance(name="watched", detailed_monitoring=False)
    assert (off["operations"], off["instance"]["detailed_monitoring"]) == (["UnmonitorInstances"], False)
    assert described(ec2, instance_id)["Monitoring"]["State"] == "disabled"
