from __future__ import annotations

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _ec2_image_info as _images
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError


def test_newest_first_by_creation_date_then_name():
    images = [
        {"image_id": "ami-1", "name": "u-20240101", "creation_date": "2024-01-01T00:00:00.000Z"},
        {"image_id": "ami-3", "name": "u-20250101", "creation_date": "2025-01-01T00:00:00.000Z"},
        {"image_id": "ami-2", "name": "u-20240102", "creation_date": "2024-01-01T00:00:00.000Z"},
    ]
    assert [i["image_id"] for i in _images.newest_first(images)] == ["ami-3", "ami-2", "ami-1"]


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
    import boto3
    from botocore.stub import Stubber

    from ansible_collections.keyless.aws.plugins.module_utils import _ec2

    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="s")
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
