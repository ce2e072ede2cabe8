#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage one inline policy of an IAM role."""

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_role_policy
short_description: Manage an inline policy of an IAM role
version_added: 0.1.0
description:
  - Puts or deletes one inline (embedded) policy of an IAM role.
  - The document is compared with IAM's semantics, so an equivalent document (reordered
    keys or lists, scalar versus one-item list, different action case) is not a change.
  - The document is validated locally (structure, Effect, Action, Resource, size, including
    the 10,240-character total of all inline policies of the role) before any change.
  - A delete that answers C(NoSuchEntity) (another run deleted the policy after this task read
    it) is success, and not reported as this task's change.
author:
  - keyless.aws contributors (@keyless-aws)
options:
  role:
    description:
      - Name of the role that holds the policy. The role must exist.
      - O(iam_name) is M(amazon.aws.iam_policy)'s name for it (with O(iam_type=role)).
    type: str
    required: true
    aliases: [role_name, iam_name]
  name:
    description: Name of the inline policy (1-128 characters of letters, digits and C(_+=,.@-)).
    type: str
    required: true
    aliases: [policy_name]
  policy:
    description:
      - The policy document, as a dict or a JSON string. Required when O(state=present).
      - O(policy_json) is M(amazon.aws.iam_policy)'s name for it.
    type: raw
    aliases: [policy_document, policy_json]
  state:
    description: Whether the inline policy should exist.
    type: str
    default: present
    choices: [present, absent]
  iam_type:
    description:
      - Accepted so that a task written for M(amazon.aws.iam_policy) with O(iam_type=role) runs.
      - Only V(role) is accepted; any other value (V(user), V(group)) fails before any API call,
        as this collection manages the inline policies of roles only.
    type: str
    default: role
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.attributes
"""

EXAMPLES = r"""
- name: Let the role read and write objects of one bucket
  keyless.aws.iam_role_policy:
    role: logsbucket-role
    name: LogsBucketPermissions
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:PutObject, s3:GetObject]
          Resource: arn:aws:s3:::my-logs-bucket/*

- name: Remove it
  keyless.aws.iam_role_policy:
    role: logsbucket-role
    name: LogsBucketPermissions
    state: absent
"""

RETURN = r"""
role_name:
  description: Name of the role.
  returned: always
  type: str
  sample: logsbucket-role
policy_name:
  description: Name of the inline policy.
  returned: always
  type: str
  sample: LogsBucketPermissions
policy:
  description:
    - The policy document after the task, as IAM stores it, or as given when the task put it;
      null when absent.
  returned: always
  type: dict
operations:
  description: The mutating API operations the task made (or would make, in check mode).
  returned: always
  type: list
  elements: str
  sample: [PutRolePolicy]
"""

from ansible_collections.keyless.aws.plugins.module_utils._iam_role_policy import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
