#!/usr/bin/python
# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read EC2 instances by Name tag, id or filters; change nothing."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_instance_info
short_description: Read EC2 instances by Name tag, id or filters
version_added: 0.1.0
description:
  - Returns the instances that match every option given, each as M(keyless.aws.ec2_instance)
    returns its RV(keyless.aws.ec2_instance#module:instance), oldest launch first.
  - With no option at all, every instance in the region is returned (terminated ones included,
    while EC2 still lists them).
  - Changes nothing; the options' names are those of M(amazon.aws.ec2_instance_info) where the
    meaning is the same.
author:
  - keyless.aws contributors (@keyless-aws)
options:
  name:
    description:
      - The exact Name tag of the instances, as M(keyless.aws.ec2_instance) identifies its
        instance (C(*) and C(?) are plain characters here, not wildcards).
      - Only instances in a state that holds a name (C(pending), C(running), C(stopping),
        C(stopped)) are returned, unless O(filters) names C(instance-state-name).
      - Cannot be combined with a C(tag:Name) key in O(filters).
    type: str
  instance_ids:
    description:
      - Ids of the instances to read.
      - Sent as the C(instance-id) filter, so an id that does not exist is not found
        (M(amazon.aws.ec2_instance_info) fails then). Cannot be combined with an C(instance-id)
        key in O(filters).
    type: list
    elements: str
    default: []
  filters:
    description:
      - DescribeInstances filters, name to value or list of values, for example
        C(instance-state-name) or C(tag:project). See
        U(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html).
      - C(*) and C(?) in values are wildcards, as EC2 reads them.
    type: dict
    default: {}
extends_documentation_fragment:
  - keyless.aws.common
  - keyless.aws.common.info_attributes
"""

EXAMPLES = r"""
- name: The instance that keyless.aws.ec2_instance manages under this name
  keyless.aws.ec2_instance_info:
    name: logsbucket-instance
  register: found

- name: Its private address
  ansible.builtin.debug:
    msg: "{{ found.instances[0].private_ip_address }}"
  when: found.instances | length > 0

- name: Every running instance of a project
  keyless.aws.ec2_instance_info:
    filters:
      instance-state-name: running
      tag:project: logs
"""

RETURN = r"""
instances:
  description:
    - The matching instances, oldest launch first (then by instance id), each as
      M(keyless.aws.ec2_instance) returns RV(keyless.aws.ec2_instance#module:instance).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: Id of the instance.
      type: str
      sample: i-0123456789abcdef0
    state:
      description: State name, for example C(running) or C(stopped).
      type: str
      sample: running
    image_id:
      description: Id of the image it was launched from.
      type: str
    instance_type:
      description: Instance type.
      type: str
      sample: t3.micro
    key_name:
      description: Name of its key pair, or null.
      type: str
    subnet_id:
      description: Id of its subnet.
      type: str
    security_group_ids:
      description: Ids of its security groups, sorted.
      type: list
      elements: str
    private_ip_address:
      description: Private IPv4 address.
      type: str
    public_ip_address:
      description: Public IPv4 address, or null.
      type: str
    private_dns_name:
      description: Private DNS name.
      type: str
    public_dns_name:
      description: Public DNS name, or null or empty.
      type: str
    iam_instance_profile_arn:
      description: ARN of its instance profile, or null.
      type: str
    metadata_options:
      description:
        - Instance metadata service settings (http_tokens, http_put_response_hop_limit, http_endpoint).
      type: dict
    tags:
      description: Tags of the instance, its Name tag included.
      type: dict
    launch_time:
      description: When it was launched (ISO 8601).
      type: str
"""

from ansible_collections.keyless.aws.plugins.module_utils._ec2_instance_info import SPEC
from ansible_collections.keyless.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(SPEC)


if __name__ == "__main__":
    main()
