#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Launch and manage one EC2 instance with an instance profile, IMDSv2 by default."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_instance
short_description: Launch one EC2 instance with an instance profile, IMDSv2 required by default
version_added: 0.1.0
description:
  - Ensures one EC2 instance, identified by its C(Name) tag among instances that are pending,
    running, stopping or stopped, is running, stopped or absent. An instance that is shutting
    down or terminated no longer holds its name; a new one is launched in its place.
  - A new instance profile takes seconds to become usable by EC2. C(RunInstances) and profile
    association are retried with jittered backoff on EC2's "Invalid IAM Instance Profile" and
    "has no associated IAM Roles" answers (and throttling) for up to O(profile_wait_timeout)
    seconds; every retry is reported in RV(retries).
  - C(RunInstances) carries a C(ClientToken) made from the launch request, so a launch happens
    once even when its answer is lost and the call is retried, or when two runs of the same task
    launch at once; EC2 answers the same token with the same instance. A token that brings back
    an instance that has since terminated (EC2 keeps tokens for at least 24 hours after that) is
    salted with that instance's id and sent again.
  - An existing instance gets the wanted profile associated (or the association replaced),
    its metadata options and tags corrected, and is started or stopped. Other settings
    (image, type, key, subnet) are never changed in place; a difference is reported as a warning.
  - Metadata options are never downgraded behind the user's back. Only options the user set
    are compared, and every modification sends C(HttpTokens) explicitly.
  - AWS starts only a stopped instance and stops only a running one. A stopping instance is
    first waited for until it is stopped, and a pending one (a new instance too) until it is
    running, for up to O(wait_timeout) seconds even with O(wait=false).
  - A wait that runs out of time fails the task. A wait fails at once, with the reason EC2
    gives (for example C(Server.InternalError) on launch), when the instance is shutting down
    or terminated, since it can then never reach the wanted state.
author:
  - keyless.aws contributors (@keyless-aws)
options:
  name:
    description:
      - Value of the C(Name) tag that identifies the instance, matched exactly.
      - C(*) and C(?) are ordinary characters here, never wildcards; C(web-?) is not C(web-1).
    type: str
    required: true
  state:
    description: Wanted state of the instance.
    type: str
    default: running
    choices: [running, stopped, absent]
  image_id:
    description: AMI id to launch. Required to create the instance.
    type: str
  instance_type:
    description: Instance type for a new instance (default C(t3.micro)).
    type: str
  key_name:
    description: Name of the EC2 key pair for SSH.
    type: str
  subnet_id:
    description: Subnet to launch into (default VPC's default subnet when omitted).
    type: str
  security_group_ids:
    description: Security group ids for a new instance.
    type: list
    elements: str
  instance_profile:
    description: Name or ARN of the IAM instance profile the instance should have.
    type: str
  metadata_options:
    description:
      - Instance metadata service options.
      - For a new instance, unset options default to C(http_tokens=required),
        C(http_put_response_hop_limit=1), C(http_endpoint=enabled).
      - For an existing instance only the options given here are compared and changed.
    type: dict
    suboptions:
      http_tokens:
        description: C(required) means IMDSv2 only; C(optional) also allows IMDSv1.
        type: str
        choices: [required, optional]
      http_put_response_hop_limit:
        description: Hop limit of metadata responses, 1 to 64.
        type: int
      http_endpoint:
        description: Whether the metadata endpoint is reachable at all.
        type: str
        choices: [enabled, disabled]
  user_data:
    description:
      - User data for a new instance, as plain text (a script or cloud-init configuration), at
        most 16 KB before encoding. It is sent as given; the SDK base64-encodes it for the API, as
        AWS requires, and the instance reads back the same text.
      - Used at launch only. The user data of an existing instance is neither compared nor
        changed (EC2 changes it only while the instance is stopped).
    type: str
  tags:
    description:
      - Tags besides C(Name). Omitted leaves tags as they are.
      - EC2's rules apply, not IAM's. Keys have 1 to 127 characters and values up to 256, of any
        characters. At most 50 tags, the C(Name) tag included.
      - Keys starting with C(aws:) (in any case) are reserved for AWS and refused here.
    type: dict
  purge_tags:
    description:
      - Remove tags not in O(tags) (the C(Name) tag is always kept).
      - Tags whose key starts with C(aws:), such as C(aws:cloudformation:stack-name) on an
        instance made by CloudFormation, Auto Scaling or a launch template, are never removed
        or changed; AWS refuses both.
    type: bool
    default: true
  wait:
    description:
      - Wait for the instance to reach the wanted state and for the profile association.
      - Waiting for an intermediate state before a start or stop is not optional (see above).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait; running out fails the task.
    type: int
    default: 300
  profile_wait_timeout:
    description: Seconds to keep retrying while a new instance profile is not yet usable by EC2.
    type: int
    default: 60
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.attributes
"""

EXAMPLES = r"""
- name: Launch an instance that gets credentials from its role, IMDSv2 only
  keyless.aws.ec2_instance:
    name: logs-writer
    image_id: ami-0123456789abcdef0
    instance_type: t3.micro
    key_name: my-key
    instance_profile: logsbucket-profile
  register: launched

- name: Stop it
  keyless.aws.ec2_instance:
    name: logs-writer
    state: stopped

- name: Terminate it
  keyless.aws.ec2_instance:
    name: logs-writer
    state: absent
"""

RETURN = r"""
instance:
  description: The instance after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    instance_id:
      description: Id of the instance (null in check mode before launch).
      type: str
      sample: i-0123456789abcdef0
    state:
      description: State name.
      type: str
      sample: running
    private_ip_address:
      description: Private IPv4 address.
      type: str
    public_ip_address:
      description: Public IPv4 address, if any.
      type: str
    private_dns_name:
      description: Private DNS name.
      type: str
    public_dns_name:
      description: Public DNS name, if any.
      type: str
    image_id:
      description: AMI id.
      type: str
    instance_type:
      description: Instance type.
      type: str
    iam_instance_profile_arn:
      description: ARN (or, in check mode, the requested name) of the instance profile.
      type: str
    metadata_options:
      description: C(http_tokens), C(http_put_response_hop_limit) and C(http_endpoint).
      type: dict
    tags:
      description: Tags, C(Name) included.
      type: dict
operations:
  description: The mutating API operations the task made (or would make, in check mode).
  returned: always
  type: list
  elements: str
  sample: [RunInstances]
retries:
  description: Each retry made while the instance profile propagated (operation and AWS error code).
  returned: always
  type: list
  elements: dict
  sample: [{operation: RunInstances, error: InvalidParameterValue}]
"""

from ansible_collections.keyless.aws.plugins.module_utils._ec2_instance import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
