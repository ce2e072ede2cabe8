#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an IAM role: trust policy, settings, managed policies and tags."""

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_role
short_description: Manage an IAM role, its trust policy, managed policies and tags
version_added: 0.1.0
description:
  - Creates, updates or deletes an IAM role.
  - Policies are compared with IAM's semantics (key and list order, scalar versus one-item
    list, action case, account id versus root ARN), so an equivalent document never
    reports a change.
  - Deleting a role first removes it from every instance profile, deletes its inline
    policies and detaches its managed policies, retrying IAM's C(DeleteConflict).
  - Another run may act between this task's read and its change. When C(CreateRole) answers
    C(EntityAlreadyExists) (a parallel run created the role, or botocore resent a create whose
    answer was lost), the role is read and updated from what is there, with a warning when
    another request created it; a removal or delete that answers C(NoSuchEntity) is success.
    Changes another request made are not reported as this task's changes.
  - Every option is validated locally before any API call.
author:
  - keyless.aws contributors (@keyless-aws)
options:
  name:
    description: Name of the role (1-64 characters of letters, digits and C(_+=,.@-)).
    type: str
    required: true
    aliases: [role_name]
  state:
    description: Whether the role should exist.
    type: str
    default: present
    choices: [present, absent]
  path:
    description:
      - Path of the role, C(/) or a string that starts and ends with C(/).
      - Used on create (C(/) then when omitted).
      - For an existing role, omitted leaves the path as it is; given, it is compared, and a
        different path fails because IAM cannot change the path of a role
        (M(amazon.aws.iam_role) warns and keeps the old path).
      - O(prefix) and O(path_prefix) are the aliases M(amazon.aws.iam_role) accepts.
    type: str
    aliases: [prefix, path_prefix]
  description:
    description: Description of the role. Left as is when omitted.
    type: str
  assume_role_policy:
    description:
      - The trust policy, as a dict or a JSON string. Required to create the role.
      - Left as is when omitted.
      - IAM's "role trust policy length" quota is 2,048 characters (white space not counted) by
        default and can be raised up to 4,096 through Service Quotas. Only IAM knows the
        account's quota, so a document over 2,048 characters is sent with a warning and IAM's
        own answer (C(LimitExceeded)) is the error; one over 4,096 fails before any API call.
    type: raw
    aliases: [trust_policy, assume_role_policy_document]
  max_session_duration:
    description: Maximum session duration in seconds, 3600 to 43200.
    type: int
  permissions_boundary:
    description:
      - ARN of the managed policy used as permissions boundary.
      - An empty string removes the boundary; omitted leaves it as is.
      - O(boundary) and O(boundary_policy_arn) are M(amazon.aws.iam_role)'s names for it.
    type: str
    aliases: [boundary, boundary_policy_arn]
  managed_policies:
    description:
      - Managed policies to attach, as ARNs or names.
      - A name is resolved by constructing the customer-managed and then the AWS-managed
        ARN and calling C(GetPolicy); policies are never listed.
      - Omitted leaves attachments as they are.
    type: list
    elements: str
    aliases: [managed_policy]
  purge_managed_policies:
    description:
      - Detach managed policies not in O(managed_policies).
      - Defaults to V(true) when O(managed_policies) is given.
      - O(purge_policies) and O(purge_policy) are M(amazon.aws.iam_role)'s names for it (they
        too only detach managed policies, never inline ones).
    type: bool
    aliases: [purge_policies, purge_policy]
  create_instance_profile:
    description:
      - Accepted so that a task written for M(amazon.aws.iam_role) runs, but only as V(false).
      - This module never creates an instance profile (M(amazon.aws.iam_role) creates one named
        like the role by default). V(true) fails before any API call; manage the profile with
        M(keyless.aws.iam_instance_profile).
    type: bool
    default: false
  delete_instance_profile:
    description:
      - Accepted so that a task written for M(amazon.aws.iam_role) runs, but only as V(false).
      - This module never deletes an instance profile; deleting the role removes it from every
        profile, which stays. V(true) fails before any API call; delete the profile with
        M(keyless.aws.iam_instance_profile) (O(keyless.aws.iam_instance_profile#module:state=absent)),
        which refuses while an instance uses it.
    type: bool
    default: false
  wait:
    description:
      - Wait until a created or updated role can be read back.
      - With V(false) nothing is read back (IAM may not show a new role yet); RV(role) is the
        predicted role, with the ARN and id that C(CreateRole) answered.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the role to become readable, and to keep retrying IAM's
        eventual-consistency answers, C(DeleteConflict) when deleting,
        C(MalformedPolicyDocument) "Invalid principal in policy" when the trust policy names a
        principal created moments ago, and C(NoSuchEntity) from C(AttachRolePolicy) right after
        the role was created.
      - No other error is retried (C(AccessDenied), other C(MalformedPolicyDocument) answers and
        validation errors fail at once).
    type: int
    default: 120
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.attributes
  - keyless.aws.common.tags
"""

EXAMPLES = r"""
- name: Role that EC2 instances may assume
  keyless.aws.iam_role:
    name: logsbucket-role
    assume_role_policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal:
            Service: ec2.amazonaws.com
          Action: sts:AssumeRole
    tags:
      project: logs

- name: Attach an AWS managed policy by name
  keyless.aws.iam_role:
    name: logsbucket-role
    managed_policies:
      - AmazonSSMManagedInstanceCore
    purge_managed_policies: false

- name: Delete the role and everything attached to it
  keyless.aws.iam_role:
    name: logsbucket-role
    state: absent
"""

RETURN = r"""
role:
  description: The role after the task (predicted in check mode); empty when deleted.
  returned: always
  type: dict
  contains:
    role_name:
      description: Name of the role.
      type: str
      sample: logsbucket-role
    role_id:
      description: Stable id of the role (null in check mode before creation).
      type: str
      sample: AROA1234567890EXAMPLE
    arn:
      description: ARN of the role (null in check mode before creation).
      type: str
      sample: arn:aws:iam::123456789012:role/logsbucket-role
    path:
      description: Path of the role.
      type: str
      sample: /
    description:
      description: Description of the role.
      type: str
    max_session_duration:
      description: Maximum session duration in seconds.
      type: int
      sample: 3600
    assume_role_policy_document:
      description: The trust policy as a dict.
      type: dict
    permissions_boundary:
      description: ARN of the permissions boundary, or null.
      type: str
    managed_policies:
      description: ARNs of attached managed policies (when O(managed_policies) was given).
      type: list
      elements: str
    tags:
      description: Tags of the role.
      type: dict
    create_date:
      description: When the role was created (ISO 8601).
      type: str
operations:
  description:
    - The mutating API operations the task made (or would make, in check mode).
    - An operation whose effect another request had already made (it answered
      C(NoSuchEntity) or C(EntityAlreadyExists)) is not listed.
  returned: always
  type: list
  elements: str
  sample: [CreateRole]
removed:
  description: What was detached or removed before the role was deleted.
  returned: when O(state=absent) and the role existed
  type: dict
"""

from ansible_collections.keyless.aws.plugins.module_utils._iam_role import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
