from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.keyless.aws.plugins.module_utils import _ec2
from ansible_collections.keyless.aws.plugins.module_utils import _ec2_image_info as _images
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError


def _stubbed_ec2():
    """An EC2 client that never reaches the network: every call is answered by a Stubber."""
    return boto3.client("ec2", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="s")


def test_oldest_first_by_creation_date_then_name():
    images = [
        {"image_id": "ami-1", "name": "u-20240101", "creation_date": "2024-01-01T00:00:00.000Z"},
        {"image_id": "ami-3", "name": "u-20250101", "creation_date": "2025-01-01T00:00:00.000Z"},
        {"image_id": "ami-2", "name": "u-20240102", "creation_date": "2024-01-01T00:00:00.000Z"},
    ]
    assert [i["image_id"] for i in _images.oldest_first(images)] == ["ami-1", "ami-2", "ami-3"]


def test_filters_include_available_name_and_architecture():
    filters = _images.image_filters(
        {"name": "ubuntu/*", "architecture": "x86_64", "filters": {"root-device-type": "ebs"}}
    )
    as_dict = {f["Name"]: f["Values"] for f in filters}
    assert as_dict == {
        "state": ["available"],
        "root-device-type": ["ebs"],
        "name": ["ubuntu/*"],
        "architecture": ["x86_64"],
    }


@pytest.mark.parametrize(("params", "field"), [({"owners": ["canonical"]}, "owners[0]"), ({}, "owners")])
def test_bad_input(params, field):
    with pytest.raises(ValidationError) as err:
        _images.validate_image_params(params)
    assert err.value.field == field


def test_finds_moto_builtin_ubuntu(clients):
    result = _images.run(
        {"owners": ["099720109477"], "name": "ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*"},
        clients,
        False,
        False,
    )
    assert result["latest"]["image_id"].startswith("ami-")
    assert len(result["images"]) >= 1
    assert clients.calls == ["DescribeImages"]


def _image(image_id: str, created: str) -> dict:
    return {"ImageId": image_id, "Name": f"img-{created}", "CreationDate": created, "OwnerId": "099720109477"}


def test_describe_images_pages_and_finds_an_image_on_page_two():
    """AWS recommends only paginated DescribeImages requests: MaxResults is sent and NextToken followed."""
    ec2 = _stubbed_ec2()
    filters = [{"Name": "name", "Values": ["img-*"]}]
    first = {"Owners": ["amazon"], "Filters": filters, "MaxResults": 1000}
    with Stubber(ec2) as stubber:
        stubber.add_response(
            "describe_images", {"Images": [_image("ami-1", "2024")], "NextToken": "page-2"}, first
        )
        stubber.add_response(
            "describe_images", {"Images": [_image("ami-2", "2025")]}, {**first, "NextToken": "page-2"}
        )
        images = _ec2.describe_images(ec2, ["amazon"], filters)
        stubber.assert_no_pending_responses()
    assert [image["ImageId"] for image in images] == ["ami-1", "ami-2"]


@pytest.mark.parametrize("owner", ["self", "amazon", "aws-marketplace", "aws-backup-vault", "123456789012"])
def test_every_documented_owner_alias_is_accepted(owner):
    # DescribeImages' Owners: account ids, self, amazon, aws-backup-vault and aws-marketplace.
    _images.validate_image_params({"owners": [owner]})


@pytest.mark.parametrize("owner", ["canonical", "12345678901", "all"])
def test_an_owner_that_is_no_alias_nor_account_is_refused(owner):
    with pytest.raises(ValidationError) as err:
        _images.validate_image_params({"owners": ["self", owner]})
    assert err.value.field == "owners[1]"
    assert "aws-backup-vault" in err.value.rule


# --- run(): the exact request and the exact answer, on a stubbed EC2 client ----------------------

CANONICAL = "099720109477"


def _raw(image_id: str, name: str | None, created: str | None) -> dict:
    raw = {
        "ImageId": image_id,
        "OwnerId": CANONICAL,
        "Architecture": "x86_64",
        "Description": f"d-{image_id}",
    }
    if name is not None:
        raw["Name"] = name
    if created is not None:
        raw["CreationDate"] = created
    return raw


def _view(image_id: str, name: str | None, created: str | None) -> dict:
    return {
        "image_id": image_id,
        "name": name,
        "owner_id": CANONICAL,
        "creation_date": created,
        "architecture": "x86_64",
        "description": f"d-{image_id}",
        "state": None,
        "public": None,
        "root_device_type": None,
        "virtualization_type": None,
        "platform_details": None,
        "tags": {},
    }


def _run_stubbed(params: dict, expected_request: dict, images: list[dict]) -> dict:
    ec2 = _stubbed_ec2()
    with Stubber(ec2) as stubber:
        stubber.add_response("describe_images", {"Images": images}, expected_request)
        result = _images.run(params, SimpleNamespace(ec2=ec2), False, False)
        stubber.assert_no_pending_responses()
    return result


def test_run_asks_for_the_owners_and_filters_and_returns_every_field_oldest_first():
    # Name order and date order disagree here: the date decides; an image without a date is the
    # oldest (first), never ``latest``.
    images = [
        _raw("ami-old", "z-build", "2024-01-01T00:00:00.000Z"),
        _raw("ami-undated", "zz-build", None),
        _raw("ami-new", "a-build", "2025-06-01T00:00:00.000Z"),
    ]
    request = {
        "Owners": [CANONICAL, "self"],
        "Filters": [
            {"Name": "state", "Values": ["available"]},
            {"Name": "name", "Values": ["*-build"]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ],
        "MaxResults": 1000,
    }
    params = {"owners": [CANONICAL, "self"], "name": "*-build", "architecture": "x86_64", "filters": {}}
    result = _run_stubbed(params, request, images)
    expected = [
        _view("ami-undated", "zz-build", None),
        _view("ami-old", "z-build", "2024-01-01T00:00:00.000Z"),
        _view("ami-new", "a-build", "2025-06-01T00:00:00.000Z"),
    ]
    assert result == {"changed": False, "images": expected, "latest": expected[2]}


def test_run_with_filters_only_sends_no_owners_and_finds_nothing():
    request = {
        "Filters": [
            {"Name": "state", "Values": ["available"]},
            {"Name": "image-id", "Values": ["ami-1", "ami-2"]},
        ],
        "MaxResults": 1000,
    }
    result = _run_stubbed({"filters": {"image-id": ["ami-1", "ami-2"]}}, request, [])
    assert result == {"changed": False, "images": [], "latest": None}


def test_run_validates_before_any_call():
    ec2 = _stubbed_ec2()
    with Stubber(ec2), pytest.raises(ValidationError) as err:
        _images.run({"owners": []}, SimpleNamespace(ec2=ec2), False, False)
    assert (err.value.field, err.value.rule) == (
        "owners",
        "give owners, image_ids, name or filters: listing every public image is never useful",
    )


def test_on_equal_dates_the_greater_name_is_later_and_a_missing_name_is_first():
    same = "2025-01-01T00:00:00.000Z"
    images = [
        {"image_id": "ami-unnamed", "name": None, "creation_date": same},
        {"image_id": "ami-b", "name": "B-image", "creation_date": same},
        {"image_id": "ami-a", "name": "A-image", "creation_date": same},
    ]
    assert [i["image_id"] for i in _images.oldest_first(images)] == ["ami-unnamed", "ami-a", "ami-b"]


def test_on_equal_dates_and_names_the_image_id_decides_whatever_the_answer_order():
    same = {"name": "twin", "creation_date": "2025-01-01T00:00:00.000Z"}
    images = [{"image_id": "ami-2", **same}, {"image_id": "ami-1", **same}]
    assert [i["image_id"] for i in _images.oldest_first(images)] == ["ami-1", "ami-2"]
    assert [i["image_id"] for i in _images.oldest_first(images[::-1])] == ["ami-1", "ami-2"]


@pytest.mark.parametrize(
    "params",
    [
        {"name": "ubuntu/*"},
        {"filters": {"image-id": "ami-1"}},
        {"owners": ["self"]},
        {"image_ids": ["ami-1"]},
    ],
)
def test_any_one_of_owners_name_or_filters_is_enough(params):
    _images.validate_image_params(params)


def test_a_bad_owner_names_its_index_and_every_alias():
    with pytest.raises(ValidationError) as err:
        _images.validate_image_params({"owners": ["canonical"]})
    assert (err.value.field, err.value.rule) == (
        "owners[0]",
        "must be a 12-digit account id or one of self, amazon, aws-marketplace, aws-backup-vault",
    )


def test_a_scalar_filter_value_is_sent_as_a_one_item_list_of_strings():
    filters = _images.image_filters({"filters": {"is-public": True, "image-id": ["ami-1", "ami-2"]}})
    assert filters == [
        {"Name": "state", "Values": ["available"]},
        {"Name": "is-public", "Values": ["True"]},
        {"Name": "image-id", "Values": ["ami-1", "ami-2"]},
    ]


def test_image_ids_are_sent_as_the_image_id_filter_so_an_unknown_id_is_not_an_error():
    request = {
        "Filters": [
            {"Name": "state", "Values": ["available"]},
            {"Name": "image-id", "Values": ["ami-1", "ami-2"]},
        ],
        "MaxResults": 1000,
    }
    result = _run_stubbed(
        {"image_ids": ["ami-1", "ami-2"], "filters": {}}, request, [_raw("ami-1", "n", None)]
    )
    assert result["latest"] == _view("ami-1", "n", None)


def test_image_ids_and_an_image_id_filter_together_are_refused():
    with pytest.raises(ValidationError) as err:
        _images.validate_image_params({"image_ids": ["ami-1"], "filters": {"image-id": "ami-2"}})
    assert (err.value.field, err.value.rule) == (
        "image_ids",
        "give image ids here or as the image-id filter, not both",
    )


def test_amazon_aws_option_names_are_aliases():
    assert _images.OPTIONS["owners"]["aliases"] == ["owner"]
    assert _images.OPTIONS["image_ids"]["aliases"] == ["image_id"]
    assert _images.OPTIONS["executable_users"]["aliases"] == ["executable_user"]


def test_executable_users_are_sent_as_executable_users_and_amazon_aws_fields_are_shown():
    request = {
        "ExecutableUsers": ["self", "123456789012"],
        "Filters": [{"Name": "state", "Values": ["available"]}],
        "MaxResults": 1000,
    }
    raw = {
        **_raw("ami-1", "n", "2025-01-01T00:00:00.000Z"),
        "State": "available",
        "Public": False,
        "RootDeviceType": "ebs",
        "VirtualizationType": "hvm",
        "PlatformDetails": "Linux/UNIX",
        "Tags": [{"Key": "os", "Value": "debian"}],
    }
    result = _run_stubbed({"executable_users": ["self", "123456789012"], "filters": {}}, request, [raw])
    assert result["latest"] == {
        **_view("ami-1", "n", "2025-01-01T00:00:00.000Z"),
        "state": "available",
        "public": False,
        "root_device_type": "ebs",
        "virtualization_type": "hvm",
        "platform_details": "Linux/UNIX",
        "tags": {"os": "debian"},
    }


@pytest.mark.parametrize("user", ["everyone", "12345678901", "Self"])
def test_an_executable_user_that_is_no_account_self_or_all_is_refused(user):
    with pytest.raises(ValidationError) as err:
        _images.validate_image_params({"owners": ["self"], "executable_users": ["all", user]})
    assert (err.value.field, err.value.rule) == (
        "executable_users[1]",
        "must be a 12-digit account id, self or all",
    )


def test_executable_users_all_alone_is_every_public_image_and_refused():
    with pytest.raises(ValidationError) as err:
        _images.validate_image_params({"executable_users": ["all"]})
    assert err.value.field == "owners"
