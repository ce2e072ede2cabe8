#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find AMIs by owner and name pattern, newest first."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_image_info
short_description: Find AMIs by owner and name pattern, newest first
version_added: 0.1.0
description:
  - Returns available images matching the owners, name pattern, architecture and filters,
    sorted newest first, and the newest one as RV(latest).
  - Used by the C(keyless.aws.instance) role so that no AMI id is hard-coded.
author:
  - keyless.aws contributors (@keyless-aws)
options:
  owners:
    description:
      - Owners of the images, any combination of 12-digit account ids and the aliases
        V(self), V(amazon), V(aws-marketplace) and V(aws-backup-vault), as DescribeImages accepts them.
      - Images are read page by page (paginated DescribeImages requests, as AWS recommends),
        so every matching image is considered however many there are.
    type: list
    elements: str
    default: []
  name:
    description: Image name pattern, with C(*) and C(?) wildcards.
    type: str
  architecture:
    description: Architecture, for example C(x86_64) or C(arm64).
    type: str
  filters:
    description: Further DescribeImages filters, name to value or list of values.
    type: dict
    default: {}
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.info_attributes
"""

EXAMPLES = r"""
- name: Newest Ubuntu 24.04 LTS amd64 image from Canonical
  keyless.aws.ec2_image_info:
    owners: ["099720109477"]
    name: ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*
    architecture: x86_64
  register: ubuntu
"""

RETURN = r"""
images:
  description: Matching images, newest first.
  returned: always
  type: list
  elements: dict
latest:
  description: The newest matching image (image_id, name, owner_id, creation_date, architecture), or null.
  returned: always
  type: dict
"""

from ansible_collections.keyless.aws.plugins.module_utils._ec2_image_info import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
