"""The plan/execute primitives: the executor's table, retries, waits, and the tag planner."""

from __future__ import annotations

import inspect

import pytest
from botocore.exceptions import ClientError

from ansible_collections.keyless.aws.plugins.module_utils import (
    _ec2_instance,
    _iam_instance_profile,
    _iam_role,
    _iam_role_policy,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import translate
from ansible_collections.keyless.aws.plugins.module_utils._plan import (
    Action,
    Conflict,
    Executor,
    Handler,
    already_exists,
    gone,
    plan_tags,
    retry_codes,
)
from ansible_collections.keyless.aws.plugins.module_utils._retry import RetryPolicy

# Any valid documents do: the planner is what is under test here.
STATEMENT = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
TRUST = {"Version": "2012-10-17", "Statement": [STATEMENT]}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}


def no_sleep_policy(**kwargs):
    return RetryPolicy(sleep=lambda _seconds: None, **kwargs)


def aws_error(code):
    return translate(ClientError({"Error": {"Code": code, "Message": code}}, "Op"), "Op")


def test_actions_run_in_order_through_the_table():
    calls = []
    handlers = {
        "A": Handler(lambda value: calls.append(("A", value))),
        "B": Handler(lambda: calls.append(("B",))),
    }
    Executor(handlers).run([Action("B"), Action("A", {"value": 1}), Action("B")])
    assert calls == [("B",), ("A", 1), ("B",)]


def test_an_operation_without_a_handler_is_a_bug_not_a_silent_skip():
    with pytest.raises(KeyError):
        Executor({}).run([Action("DeleteRole", {"role": "r"})])


def test_retries_are_per_operation_recorded_and_bounded():
    failures = iter(["DeleteConflict", "DeleteConflict"])

    def delete():
        code = next(failures, None)
        if code:
            raise aws_error(code)

    executor = Executor({"DeleteRole": Handler(delete, retry_codes(["DeleteConflict"], 10))}, no_sleep_policy)
    executor.run([Action("DeleteRole")])
    assert executor.retries == [{"operation": "DeleteRole", "error": "DeleteConflict"}] * 2
    assert executor.retried("DeleteRole") == 2


def test_an_operation_without_retries_fails_at_once():
    attempts = []

    def delete():
        attempts.append(1)
        raise aws_error("DeleteConflict")

    with pytest.raises(Exception, match="DeleteConflict"):
        Executor({"DeleteRole": Handler(delete)}, no_sleep_policy).run([Action("DeleteRole")])
    assert attempts == [1]


def test_other_errors_are_not_retried():
    attempts = []

    def delete():
        attempts.append(1)
        raise aws_error("AccessDenied")

    handlers = {"DeleteRole": Handler(delete, retry_codes(["DeleteConflict"], 10))}
    with pytest.raises(Exception, match="AccessDenied"):
        Executor(handlers, no_sleep_policy).run([Action("DeleteRole")])
    assert attempts == [1]


def test_then_runs_after_success_and_is_never_retried_with_the_call():
    calls = []

    def wait():
        calls.append("wait")
        raise aws_error("Throttling")

    handlers = {"RunInstances": Handler(lambda: calls.append("run"), retry_codes(["Throttling"], 10), wait)}
    with pytest.raises(Exception, match="Throttling"):
        Executor(handlers, no_sleep_policy).run([Action("RunInstances")])
    assert calls == ["run", "wait"]


def resent_error(code, resent):
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"RetryAttempts": resent}}, "Op"
    )


def test_a_settled_error_is_success_but_not_this_runs_change():
    def delete():
        raise resent_error("NoSuchEntity", 0)

    handlers = {"DeleteRole": Handler(delete, settled=gone), "Tag": Handler(lambda: None)}
    applied = Executor(handlers).run([Action("DeleteRole"), Action("Tag")])
    assert applied == [Action("Tag")]


def test_a_settled_error_after_a_resend_counts_as_this_runs_change():
    def delete():
        raise resent_error("NoSuchEntity", 2)

    assert Executor({"DeleteRole": Handler(delete, settled=gone)}).run([Action("DeleteRole")]) == [
        Action("DeleteRole")
    ]


def test_settled_rules_see_the_actions_arguments_and_other_errors_still_fail():
    seen = []

    def settled(err, role):
        seen.append(role)
        return False

    def add(role):
        raise aws_error("LimitExceeded")

    with pytest.raises(Exception, match="LimitExceeded"):
        Executor({"Add": Handler(add, settled=settled)}).run([Action("Add", {"role": "r"})])
    assert seen == ["r"]


@pytest.mark.parametrize(("resent", "applied"), [(0, ["Tag"]), (1, ["Tag", "Create"])])
def test_an_existing_entity_stops_with_a_conflict_naming_what_ran(resent, applied):
    def create():
        raise resent_error("EntityAlreadyExists", resent)

    handlers = {"Tag": Handler(lambda: None), "Create": Handler(create, exists=already_exists)}
    with pytest.raises(Conflict) as conflict:
        Executor(handlers).run([Action("Tag"), Action("Create"), Action("Tag")])
    assert [action.operation for action in conflict.value.applied] == applied
    assert conflict.value.ours is bool(resent)


def test_tag_planner_removes_first_and_predicts_the_result():
    actions, tags = plan_tags({"a": "1", "b": "2"}, {"a": "9"}, True, ("TagRole", "UntagRole"), {"role": "r"})
    assert actions == [
        Action("UntagRole", {"role": "r", "keys": ["b"]}),
        Action("TagRole", {"role": "r", "tags": {"a": "9"}}),
    ]
    assert tags == {"a": "9"}
    actions, tags = plan_tags({"a": "1"}, None, True, ("CreateTags", "DeleteTags"))
    assert (actions, tags) == ([], {"a": "1"})
    actions, tags = plan_tags({"a": "1", "b": "2"}, {"a": "1"}, False, ("CreateTags", "DeleteTags"))
    assert (actions, tags) == ([], {"a": "1", "b": "2"})


STACK_TAGS = {"aws:cloudformation:stack-name": "web-stack", "AWS:autoscaling:groupName": "web-asg"}


@pytest.mark.parametrize("operations", [("TagRole", "UntagRole"), ("CreateTags", "DeleteTags")])
def test_tag_planner_never_purges_reserved_aws_tags(operations):
    actions, tags = plan_tags({"a": "1", **STACK_TAGS}, {"b": "2"}, True, operations)
    tag_op, untag_op = operations
    assert actions == [Action(untag_op, {"keys": ["a"]}), Action(tag_op, {"tags": {"b": "2"}})]
    assert tags == {"b": "2", **STACK_TAGS}
    actions, tags = plan_tags(STACK_TAGS, {}, True, operations)
    assert (actions, tags) == ([], STACK_TAGS)


def test_tag_planner_never_sets_reserved_aws_tags():
    current = {"aws:cloudformation:stack-name": "web-stack"}
    desired = {"aws:cloudformation:stack-name": "other", "aws:new": "x", "team": "ops"}
    actions, tags = plan_tags(current, desired, True, ("CreateTags", "DeleteTags"))
    assert actions == [Action("CreateTags", {"tags": {"team": "ops"}})]
    assert tags == {"aws:cloudformation:stack-name": "web-stack", "team": "ops"}


# --- every planned action's arguments are its handler's keyword arguments -----------------------


def role_plans():
    role = _iam_role
    create_params = {**defaults(role), "name": "r", "assume_role_policy": TRUST, "tags": {"t": "1"}}
    create = role.desired_role(create_params)
    actions, predicted = role.plan_create(create, ["arn:aws:iam::aws:policy/A"])
    update = role.desired_role(
        {
            **defaults(role),
            "name": "r",
            "assume_role_policy": POLICY | {"Statement": TRUST["Statement"]},
            "description": "d",
            "permissions_boundary": "arn:aws:iam::123456789012:policy/b",
            "tags": {"new": "1"},
        }
    )
    current = {
        **predicted,
        "assume_role_policy_document": {},
        "tags": {"old": "1"},
        "managed_policies": ["x"],
    }
    changed, _unused = role.plan_update(current, update, ["arn:aws:iam::aws:policy/B"])
    deleted = role.plan_delete("r", ["p"], ["i"], ["arn:aws:iam::aws:policy/A"])
    resource = role.RoleResource(create_params, FakeClients(), False)
    return resource.handlers(), actions + changed + deleted


def profile_plans():
    ip = _iam_instance_profile
    profile_params = {**defaults(ip), "name": "p", "role": "r", "tags": {"a": "1"}}
    desired = ip.desired_profile(profile_params)
    actions, predicted = ip.plan_create(desired)
    current = {**predicted, "roles": ["old"], "tags": {"b": "1"}, "arn": "arn"}
    changed, _unused = ip.plan_update(current, desired)
    resource = ip.InstanceProfileResource(profile_params, FakeClients(), False)
    return resource.handlers(), actions + changed + ip.plan_delete(current)


def role_policy_plans():
    rp = _iam_role_policy
    put = rp.plan(None, rp.desired_policy({"role": "r", "name": "p", "policy": POLICY, "state": "present"}))
    delete = rp.plan(POLICY, rp.desired_policy({"role": "r", "name": "p", "policy": None, "state": "absent"}))
    policy_params = {"role": "r", "name": "p", "policy": POLICY, "state": "present"}
    return rp.RolePolicyResource(policy_params, FakeClients(), False).handlers(), put + delete


def instance_plans():
    ec2 = _ec2_instance
    base = {**defaults(ec2), "name": "web", "image_id": "ami-12345678", "instance_profile": "p"}
    created, predicted = ec2.plan_create(
        ec2.desired_instance({**base, "state": "stopped", "tags": {"a": "1"}})
    )
    current = {
        **predicted,
        "instance_id": "i-1",
        "state": "stopping",
        "iam_instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/old",
        "tags": {"Name": "web", "old": "1"},
    }
    desired = ec2.desired_instance(
        {**base, "metadata_options": {"http_tokens": "optional"}, "tags": {"b": "2"}}
    )
    changed, _unused = ec2.plan_update(current, desired)
    stop, _unused = ec2.plan_update(
        {**current, "state": "pending"}, ec2.desired_instance({**base, "state": "stopped"})
    )
    gone, _unused = ec2.plan_update(current, ec2.desired_instance({**base, "state": "absent"}))
    resource = ec2.InstanceResource(base, FakeClients(), False)
    handlers = ec2.InstanceActions(resource.ec2, resource.desired, "i-1").handlers()
    return handlers, created + changed + stop + gone


class FakeClients:
    iam = object()
    ec2 = object()
    region = "us-east-1"


def defaults(module):
    return {key: option.get("default") for key, option in module.OPTIONS.items()}


@pytest.mark.parametrize("plans", [role_plans, profile_plans, role_policy_plans, instance_plans])
def test_planned_arguments_bind_to_the_handlers(plans):
    handlers, actions = plans()
    assert len({action.operation for action in actions}) >= 2
    for action in actions:
        assert action.operation in handlers, action.operation
        inspect.signature(handlers[action.operation].call).bind(**action.args)


@pytest.mark.parametrize(
    ("plans", "creates"),
    [
        (role_plans, {"CreateRole"}),
        (profile_plans, {"CreateInstanceProfile"}),
        (role_policy_plans, set()),
        (instance_plans, set()),
    ],
    ids=["role", "instance-profile", "role-policy", "instance"],
)
def test_only_role_and_profile_creates_can_meet_an_existing_entity(plans, creates):
    # Only these reach Resource.read_existing (a Conflict comes from a handler's ``exists`` rule).
    handlers, _actions = plans()
    assert {operation for operation, handler in handlers.items() if handler.exists is not None} == creates
