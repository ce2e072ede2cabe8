#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an IAM instance profile and the role in it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_instance_profile
short_description: Manage an IAM instance profile and the role it holds
version_added: 0.1.0
description:
  - Creates, updates or deletes an IAM instance profile, the container that EC2 attaches
    to an instance so that the instance gets the role's temporary credentials.
  - A profile holds at most one role; O(role) makes it hold exactly that role, swapping
    out another one if needed.
  - After a change the module waits until the profile reads back with the wanted role.
  - Before adding a role the module checks that the role exists and fails at once, changing
    nothing, when it does not. IAM being eventually consistent, a role created moments ago is
    re-read for up to 10 seconds first. In check mode a missing role is a warning (an earlier,
    checked task may create it). A run that adds no role makes no extra call.
  - Another run may act between this task's read and its change. When
    C(CreateInstanceProfile) answers C(EntityAlreadyExists), the profile is read and updated
    from what is there; when C(AddRoleToInstanceProfile) answers C(LimitExceeded) because the
    profile already holds the wanted role, that is success (another role is a clear failure);
    a removal or delete that answers C(NoSuchEntity) is success.
  - Deleting refuses while an EC2 instance (in the configured region) uses the profile,
    and names the instances, unless O(force=true).
author:
  - keyless.aws contributors (@keyless-aws)
options:
  name:
    description: Name of the instance profile (1-128 characters of letters, digits and C(_+=,.@-)).
    type: str
    required: true
    aliases: [instance_profile_name]
  state:
    description: Whether the instance profile should exist.
    type: str
    default: present
    choices: [present, absent]
  path:
    description:
      - Path of the instance profile, C(/) or a string that starts and ends with C(/).
      - Used on create (C(/) then when omitted).
      - For an existing profile, omitted leaves the path as it is; given, it is compared, and a
        different path fails because IAM cannot change the path of an instance profile
        (M(amazon.aws.iam_instance_profile) warns and keeps the old path).
      - O(prefix) and O(path_prefix) are the aliases M(amazon.aws.iam_instance_profile) accepts.
    type: str
    aliases: [prefix, path_prefix]
  role:
    description:
      - Name of the role the profile should hold.
      - Omitted leaves the role as it is; an empty string removes the role.
    type: str
    aliases: [role_name]
  force:
    description: Delete even while EC2 instances use the profile (they lose their credentials).
    type: bool
    default: false
  wait:
    description:
      - Wait until a created or changed profile reads back with the wanted role.
      - With V(false) nothing is read back (IAM may not show a new profile yet);
        RV(instance_profile) is the predicted profile, with the ARN and id that
        C(CreateInstanceProfile) answered.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, and to retry IAM eventual-consistency errors (C(NoSuchEntity) and
        C(ConcurrentModification) from C(AddRoleToInstanceProfile), C(DeleteConflict) when
        deleting).
    type: int
    default: 120
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.attributes
  - keyless.aws.common.tags
"""

EXAMPLES = r"""
- name: Instance profile holding the role
  keyless.aws.iam_instance_profile:
    name: logsbucket-profile
    role: logsbucket-role

- name: Empty the profile
  keyless.aws.iam_instance_profile:
    name: logsbucket-profile
    role: ""

- name: Delete it
  keyless.aws.iam_instance_profile:
    name: logsbucket-profile
    state: absent
"""

RETURN = r"""
instance_profile:
  description: The instance profile after the task (predicted in check mode); empty when deleted.
  returned: always
  type: dict
  contains:
    instance_profile_name:
      description: Name of the profile.
      type: str
      sample: logsbucket-profile
    instance_profile_id:
      description: Stable id (null in check mode before creation).
      type: str
    arn:
      description: ARN of the profile (null in check mode before creation).
      type: str
      sample: arn:aws:iam::123456789012:instance-profile/logsbucket-profile
    path:
      description: Path of the profile.
      type: str
    role:
      description: Name of the role in the profile, or null.
      type: str
      sample: logsbucket-role
    roles:
      description: Names of the roles in the profile (zero or one).
      type: list
      elements: str
    tags:
      description: Tags of the profile.
      type: dict
    create_date:
      description: When the profile was created (ISO 8601).
      type: str
operations:
  description:
    - The mutating API operations the task made (or would make, in check mode).
    - An operation whose effect another request had already made is not listed.
  returned: always
  type: list
  elements: str
  sample: [CreateInstanceProfile, AddRoleToInstanceProfile]
associated_instances:
  description: Instances that used the profile when it was deleted (only checked without O(force)).
  returned: when O(state=absent) and the profile existed
  type: list
  elements: str
"""

from ansible_collections.keyless.aws.plugins.module_utils._iam_instance_profile import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
