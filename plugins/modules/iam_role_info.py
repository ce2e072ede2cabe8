#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read IAM roles with everything attached to them."""

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_role_info
short_description: Read IAM roles with their policies and instance profiles
version_added: 0.1.0
description:
  - Returns one role by name, or every role under a path prefix, with its trust policy,
    inline policies (names and documents), attached managed policies and the instance
    profiles that hold it.
  - Never changes anything.
author:
  - keyless.aws contributors (@keyless-aws)
options:
  name:
    description: Name of one role. An unknown name returns an empty list.
    type: str
    aliases: [role_name]
  path_prefix:
    description:
      - Return every role under this path (default all roles).
      - Taken as whole path segments, as amazon.aws.iam_role_info does - V(team), V(/team) and
        V(/team/) all mean C(/team/), so roles in C(/teamwork/) are not listed.
    type: str
    aliases: [path]
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.info_attributes
"""

EXAMPLES = r"""
- name: One role
  keyless.aws.iam_role_info:
    name: logsbucket-role
  register: info

- name: Every role under /app/
  keyless.aws.iam_role_info:
    path_prefix: /app/
"""

RETURN = r"""
roles:
  description: The roles found.
  returned: always
  type: list
  elements: dict
  contains:
    role_name:
      description: Name of the role.
      type: str
    arn:
      description: ARN of the role.
      type: str
    assume_role_policy_document:
      description: The trust policy as a dict.
      type: dict
    inline_policies:
      description: Inline policies, name to document.
      type: dict
    managed_policies:
      description: ARNs of attached managed policies.
      type: list
      elements: str
    instance_profiles:
      description: Instance profiles that hold the role (name, arn, path).
      type: list
      elements: dict
    tags:
      description: Tags of the role.
      type: dict
"""

from ansible_collections.keyless.aws.plugins.module_utils._iam_role_info import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
