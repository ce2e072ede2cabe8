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
    its metadata options, tags, termination protection, shutdown behaviour and detailed
    monitoring corrected, and is started or stopped. Its instance type is changed only while it
    is stopped (already, or by this task); a running instance is never stopped unasked. Other
    settings (image, key, subnet, network, root volume, placement, EBS optimization, and the type
    of a running instance) are never changed in place; a difference is reported as a warning.
  - Settings that C(DescribeInstances) does not show are read only when the task names them
    (C(DescribeInstanceAttribute) for O(termination_protection) and
    O(instance_initiated_shutdown_behavior), C(DescribeVolumes) for O(root_volume)). With
    O(state=absent) the termination protection is always read, so a protected instance is refused
    before any change, in check mode too.
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
    description:
      - Instance type for a new instance (default C(t3.micro)).
      - On an existing instance that is stopped, stopping, or stopped by this task, a different type
        is set with C(ModifyInstanceAttribute) (before the start when the task also starts it). On
        a running instance that stays running, a difference is only a warning.
    type: str
  key_name:
    description: Name of the EC2 key pair for SSH.
    type: str
  subnet_id:
    description: Subnet to launch into (default VPC's default subnet when omitted).
    type: str
    aliases: [vpc_subnet_id]
  security_group_ids:
    description: Security group ids for a new instance.
    type: list
    elements: str
  instance_profile:
    description:
      - Name or ARN of the IAM instance profile the instance should have.
      - The aliases are amazon.aws.ec2_instance's names for it.
    type: str
    aliases: [iam_instance_profile, instance_role]
  network:
    description: Network settings of the primary network interface, set at launch only.
    type: dict
    suboptions:
      assign_public_ip:
        description:
          - Whether the instance gets a public IPv4 address (C(AssociatePublicIpAddress)); omitted,
            the subnet's setting decides.
          - EC2 takes this only inside C(NetworkInterfaces), so when it is set the launch request puts
            O(subnet_id) and O(security_group_ids) in the primary interface (device index 0).
          - It cannot be changed later. On a running instance that has a public address and should
            not (or the reverse), a warning is given; a stopped instance has no public address and
            is not compared.
        type: bool
  root_volume:
    description:
      - The root EBS volume, set at launch in C(BlockDeviceMappings) under the image's root device
        name (read with C(DescribeImages); the task fails when the image is not found).
      - On an existing instance the root volume is read (C(DescribeVolumes)) and each suboption
        given is compared; a difference is a warning, the volume is not modified.
      - EBS limits are checked before any call, per type in GiB; C(gp2)/C(gp3) 1-16384, C(io1)
        4-16384, C(io2) 4-65536, C(st1)/C(sc1) 125-16384, C(standard) 1-1024.
    type: dict
    suboptions:
      volume_size:
        description: Size in GiB.
        type: int
        aliases: [size]
      volume_type:
        description: EBS volume type.
        type: str
        choices: [gp2, gp3, io1, io2, st1, sc1, standard]
      iops:
        description:
          - Provisioned IOPS; only with C(io1) (100-64000, required), C(io2) (100-256000, required)
            or C(gp3) (3000-16000).
        type: int
      throughput:
        description: Throughput in MiB/s, C(gp3) only, 125-1000.
        type: int
      encrypted:
        description: Whether the volume is encrypted.
        type: bool
      kms_key_id:
        description:
          - KMS key for the encryption (key ARN, key id, alias ARN or C(alias/name)); needs
            O(root_volume.encrypted=true).
          - An alias is not compared on an existing instance (only KMS knows which key it names).
        type: str
      delete_on_termination:
        description: Whether the volume is deleted when the instance terminates.
        type: bool
  availability_zone:
    description:
      - Availability Zone to launch in (C(Placement)), for example C(us-east-1a). It must be the
        zone of O(subnet_id) when both are given.
      - Launch only; a difference on an existing instance is a warning.
    type: str
  placement_group:
    description:
      - Name of the placement group to launch in (C(Placement)). Launch only; a difference on an
        existing instance is a warning.
    type: str
  termination_protection:
    description:
      - Whether C(TerminateInstances) is refused for the instance (C(DisableApiTermination)). Set at
        launch; changed on an existing instance with C(ModifyInstanceAttribute).
      - With O(state=absent), a protected instance fails the task, unless this task says
        O(termination_protection=false); the protection is then turned off and the instance
        terminated. C(true) with O(state=absent) is refused.
    type: bool
  instance_initiated_shutdown_behavior:
    description:
      - Whether a shutdown from inside the instance stops or terminates it. Set at launch; changed
        on an existing instance with C(ModifyInstanceAttribute).
    type: str
    choices: [stop, terminate]
  detailed_monitoring:
    description:
      - CloudWatch detailed (one-minute) monitoring. Set at launch (C(Monitoring.Enabled)); changed
        on an existing instance with C(MonitorInstances) or C(UnmonitorInstances).
      - A monitoring state of C(pending) counts as on, C(disabling) as off.
    type: bool
  ebs_optimized:
    description:
      - Whether the instance is EBS-optimized. Launch only; a difference on an existing instance
        is a warning.
    type: bool
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

- name: Launch with a public address, a larger encrypted gp3 root volume and termination protection
  keyless.aws.ec2_instance:
    name: bastion
    image_id: ami-0123456789abcdef0
    subnet_id: subnet-0123abcd
    security_group_ids: [sg-0123abcd]
    network:
      assign_public_ip: true
    root_volume:
      volume_size: 30
      volume_type: gp3
      throughput: 250
      encrypted: true
    termination_protection: true
    detailed_monitoring: true

- name: Terminate a protected instance (protection is turned off first)
  keyless.aws.ec2_instance:
    name: bastion
    state: absent
    termination_protection: false

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
    key_name:
      description: Name of its key pair, or null.
      type: str
    subnet_id:
      description: Id of its subnet (null in check mode when EC2 chooses it).
      type: str
    security_group_ids:
      description: Ids of its security groups, sorted.
      type: list
      elements: str
    launch_time:
      description: When it was launched (ISO 8601; not returned in check mode before launch).
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
    availability_zone:
      description: Availability Zone (null in check mode when EC2 chooses it).
      type: str
      sample: us-east-1a
    placement_group:
      description: Placement group name, null when in none.
      type: str
    detailed_monitoring:
      description: Whether detailed monitoring is on (monitoring state C(enabled) or C(pending)).
      type: bool
    ebs_optimized:
      description: Whether the instance is EBS-optimized (null in check mode when EC2 chooses).
      type: bool
    termination_protection:
      description: Whether termination protection is on.
      returned: when O(termination_protection) is set, or with O(state=absent) before termination
      type: bool
    instance_initiated_shutdown_behavior:
      description: C(stop) or C(terminate).
      returned: when O(instance_initiated_shutdown_behavior) is set
      type: str
    root_volume:
      description:
        - The root volume; C(volume_id), C(volume_size), C(volume_type), C(iops), C(throughput),
          C(encrypted), C(kms_key_id), C(delete_on_termination).
        - In check mode before launch, the requested settings and a null C(volume_id).
      returned: when O(root_volume) is set
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
