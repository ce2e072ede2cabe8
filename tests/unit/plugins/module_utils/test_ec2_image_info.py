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
