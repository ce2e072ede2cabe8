#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find AMIs by owner, id and name pattern, oldest first, and the newest."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_image_info
short_description: Find AMIs by owner, id and name pattern, and the newest of them
version_added: 0.1.0
description:
  - Returns available images matching the owners, ids, name pattern, architecture and filters,
    sorted oldest first (as M(amazon.aws.ec2_ami_info) sorts them), and the newest one as
    RV(latest).
  - Only images in state C(available) are returned unless O(filters) names another C(state).
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
      - O(owner) is the name M(amazon.aws.ec2_ami_info) also accepts.
    type: list
    elements: str
    default: []
    aliases: [owner]
  image_ids:
    description:
      - Ids of the images to find.
      - Sent as the C(image-id) filter, so an id that does not exist or is not available is not
        found (M(amazon.aws.ec2_ami_info) fails then). Cannot be combined with an C(image-id) key
        in O(filters).
    type: list
    elements: str
    default: []
    aliases: [image_id]
  executable_users:
    description:
      - Only images these users may launch (explicit launch permissions), given as 12-digit account ids,
        V(self) (the caller) or V(all) (public images), as DescribeImages' C(ExecutableUsers).
      - O(executable_user) is the name M(amazon.aws.ec2_ami_info) also accepts.
      - V(all) alone does not narrow the search; give O(owners), O(image_ids), O(name) or O(filters) too.
    type: list
    elements: str
    default: []
    aliases: [executable_user]
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
  description:
    - Matching images, oldest first (by C(creation_date); images created at the same second are
      ordered by name, then by image id), so C(images | last) is the newest, as with
      M(amazon.aws.ec2_ami_info).
    - Earlier development builds listed them newest first; RV(latest) is the newest either way.
  returned: always
  type: list
  elements: dict
  contains:
    image_id:
      description: Id of the image.
      type: str
      sample: ami-0123456789abcdef0
    name:
      description: Name of the image.
      type: str
    owner_id:
      description: Account id of the owner.
      type: str
      sample: "099720109477"
    creation_date:
      description: When the image was created (ISO 8601, UTC).
      type: str
      sample: "2025-06-01T12:00:00.000Z"
    architecture:
      description: Architecture of the image.
      type: str
      sample: x86_64
    description:
      description: Description of the image.
      type: str
    state:
      description: State of the image (V(available) unless O(filters) asked for another).
      type: str
      sample: available
    public:
      description: Whether the image is public.
      type: bool
    root_device_type:
      description: Type of the root device, V(ebs) or V(instance-store).
      type: str
      sample: ebs
    virtualization_type:
      description: Virtualization type, V(hvm) or V(paravirtual).
      type: str
      sample: hvm
    platform_details:
      description: Platform details, for example C(Linux/UNIX).
      type: str
    tags:
      description: Tags of the image.
      type: dict
latest:
  description: The newest matching image (the last of RV(images)), or null when none matches.
  returned: always
  type: dict
"""

from ansible_collections.keyless.aws.plugins.module_utils._ec2_image_info import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
