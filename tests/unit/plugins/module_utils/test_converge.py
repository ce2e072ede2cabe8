"""The converge skeleton: what the base ``Resource`` does for every behaviour."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _iam_instance_profile, _iam_role
from ansible_collections.keyless.aws.plugins.module_utils._converge import (
    Plan,
    Resource,
    converge,
    with_created,
)
from ansible_collections.keyless.aws.plugins.module_utils._plan import Action, Handler, already_exists
from ansible_collections.keyless.aws.plugins.module_utils._retry import WaitTimeout


@dataclass(frozen=True)
class DesiredThing:
    name: str
    wait_timeout: int = 5


class Thing(Resource):
    """The least a resource declares to reach the base read of a create conflict: a noun and a create."""

    result_key = "thing"
    noun = "thing"

    def __init__(self, shows: list[dict | None], answer_error) -> None:
        self.desired = DesiredThing("t1")
        self.answer_error = answer_error
        self.shows = shows  # what each read after the first answers; the last one repeats

    def read(self):
        return self.shows.pop(0) if len(self.shows) > 1 else self.shows[0]

    def plan(self, current):
        if current is None:
            return Plan([Action("CreateThing", {"name": self.desired.name})], {"name": "t1", "size": 1})
        if current["size"] != 1:
            return Plan([Action("ResizeThing", {"name": self.desired.name})], {**current, "size": 1})
        return Plan([], current)

    def handlers(self):
        def create(name):
            raise self.answer_error(
                "EntityAlreadyExists", f"Thing with name {name} already exists.", "CreateThing"
            )

        return {
            "CreateThing": Handler(create, exists=already_exists),
            "ResizeThing": Handler(lambda name: None),
        }


def test_base_resource_reads_what_a_conflicting_create_found_and_converges_from_it(fake_clock, answer_error):
    # The first read sees nothing; the create finds the thing already there, and IAM-like lag hides it
    # from the next read: the base class polls until it shows, then plans from what it is.
    thing = Thing([None, None, {"name": "t1", "size": 2}], answer_error)
    result = converge(thing, check_mode=False, diff=False)
    assert result["changed"] is True
    assert result["operations"] == ["ResizeThing"]
    assert result["thing"] == {"name": "t1", "size": 1}
    assert result["warnings"] == [
        "CreateThing answered: Thing with name t1 already exists. Another request created it after "
        "this task read it; the task converged from what AWS shows."
    ]
    assert fake_clock.now > 0  # it waited for the thing to show


def test_base_conflict_read_that_runs_out_names_the_resource_and_the_create(fake_clock, answer_error):
    with pytest.raises(WaitTimeout) as err:
        converge(Thing([None], answer_error), check_mode=False, diff=False)
    assert str(err.value) == "timed out after 5s waiting for thing t1, which CreateThing says exists"


CREATED = {
    "RoleId": "AROAEXAMPLE",
    "InstanceProfileId": "AIPAEXAMPLE",
    "Arn": "arn:aws:iam::123456789012:role/r",
    "CreateDate": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
}


@pytest.mark.parametrize(
    ("id_key", "answer_key", "expected_id"),
    [("role_id", "RoleId", "AROAEXAMPLE"), ("instance_profile_id", "InstanceProfileId", "AIPAEXAMPLE")],
    ids=["role", "instance-profile"],
)
def test_with_created_adds_the_identifiers_the_create_answered(id_key, answer_key, expected_id):
    predicted = {"name": "r", id_key: None, "arn": None, "create_date": None}
    assert with_created(predicted, CREATED, id_key, answer_key) == {
        "name": "r",
        id_key: expected_id,
        "arn": "arn:aws:iam::123456789012:role/r",
        "create_date": "2026-01-02T03:04:05+00:00",
    }


@pytest.mark.parametrize(
    ("predicted", "created"), [(None, CREATED), ({"name": "r"}, None)], ids=["deleted", "not-created-here"]
)
def test_with_created_leaves_a_prediction_without_a_create_answer_as_it_is(predicted, created):
    assert with_created(predicted, created, "role_id", "RoleId") == predicted


# --- the two resources whose creates can meet an existing entity, through the base read ------------

ROLE_PARAMS = {
    **{key: option.get("default") for key, option in _iam_role.OPTIONS.items()},
    "name": "app-role",
    "assume_role_policy": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    },
}
PROFILE_PARAMS = {
    **{key: option.get("default") for key, option in _iam_instance_profile.OPTIONS.items()},
    "name": "app-profile",
}


@pytest.mark.parametrize(
    ("module", "params", "create", "expected"),
    [
        (_iam_role, ROLE_PARAMS, "create_role", "role app-role, which CreateRole says exists"),
        (
            _iam_instance_profile,
            PROFILE_PARAMS,
            "create_instance_profile",
            "instance profile app-profile, which CreateInstanceProfile says exists",
        ),
    ],
    ids=["role", "instance-profile"],
)
def test_a_create_conflict_that_never_shows_the_entity_fails_naming_it(
    clients, fake_clock, answer_error, module, params, create, expected
):
    # EntityAlreadyExists, yet every read answers NoSuchEntity: the wait_timeout runs out.
    def already_there(**_kwargs):
        raise answer_error("EntityAlreadyExists", "It already exists.", "Create")

    setattr(clients.iam, create, already_there)
    with pytest.raises(WaitTimeout) as err:
        module.run(params, clients, False, False)
    assert str(err.value) == f"timed out after 120s waiting for {expected}"
