# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by every keyless.aws module."""

from __future__ import annotations


class ModuleDocFragment:
    # The connection options every module accepts (same names and environment variables
    # as amazon.aws, so module_defaults and environments carry over).
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region to use.
      - IAM is global; IAM calls fall back to C(us-east-1) when no region is set.
      - Read from E(AWS_REGION) or E(AWS_DEFAULT_REGION) when not given.
    type: str
    aliases: [aws_region, ec2_region]
  profile:
    description:
      - A named profile from the AWS config/credentials files.
      - Read from E(AWS_PROFILE) when not given. Cannot be combined with O(access_key).
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - AWS access key id. Read from E(AWS_ACCESS_KEY_ID) when not given.
      - When neither keys nor a profile are given, botocore's default chain is used
        (environment, config files, container or instance metadata credentials).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key. Read from E(AWS_SECRET_ACCESS_KEY) when not given.
      - Never logged.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS session token for temporary credentials. Read from E(AWS_SESSION_TOKEN).
      - Never logged.
    type: str
    aliases: [aws_session_token, security_token, aws_security_token]
  endpoint_url:
    description:
      - Send API calls to this URL instead of the AWS endpoint (for example a local
        AWS-compatible server such as the project sandbox).
      - When not given, botocore's own E(AWS_ENDPOINT_URL) and E(AWS_ENDPOINT_URL_IAM)
        (and so on per service) apply.
    type: str
    aliases: [aws_endpoint_url, ec2_url]
  validate_certs:
    description:
      - When V(false), TLS certificates of the endpoint are not verified. Use only with a
        local test endpoint; to trust a private CA (for example a TLS-inspecting proxy), set
        O(aws_ca_bundle) instead.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - A CA bundle file (or a directory of CA certificates) to verify the endpoints' TLS
        certificates with, instead of botocore's own bundle. Read from E(AWS_CA_BUNDLE) when not given.
      - The path is on the host that runs the module. A path that does not exist fails the task
        before any API call, unless O(validate_certs=false), which ignores this option.
    type: path
  aws_config:
    description:
      - Settings for botocore's client configuration (C(botocore.config.Config)), for example
        C(proxies), C(proxies_config), C(connect_timeout), C(read_timeout), C(retries) or
        C(max_pool_connections). See
        U(https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html).
      - Keys must be options of the installed botocore's C(Config); any other key, or a value
        botocore refuses, fails the task before any API call, naming the key.
      - They override the collection's defaults (C(retries) in C(standard) mode with
        C(max_attempts=6), C(connect_timeout=10), C(read_timeout=30)); C(retries) is merged key by
        key, so a C(retries) with only C(max_attempts) keeps the C(standard) mode.
      - A password in a C(proxies) URL (C(http://user:password@proxy:3128)) is censored in the
        task's output.
    type: dict
requirements:
  - python >= 3.11
  - boto3 >= 1.34
  - botocore >= 1.34
notes:
  - Every API call is retried by botocore in C(standard) mode on throttling and
    transient errors (see O(aws_config) to change it); IAM eventual-consistency errors are
    retried for a bounded time.
"""

    # Attributes of a module that fully supports check and diff mode.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Check mode predicts the result in memory and makes no mutating API call.
  diff_mode:
    support: full
    description:
      - Shows before and after. Policy documents are compared with IAM's semantics but shown as
        IAM stores them and, when the task changes one, as written in the task.
  action_group:
    support: full
    membership: [keyless.aws.aws]
    description: Use C(group/keyless.aws.aws) in C(module_defaults) to set common options.
"""

    # Attributes of a module that only reads.
    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  action_group:
    support: full
    membership: [keyless.aws.aws]
    description: Use C(group/keyless.aws.aws) in C(module_defaults) to set common options.
"""

    # Tags of an IAM resource, with IAM's purge semantics.
    TAGS = r"""
options:
  tags:
    description:
      - Tags of the resource. Omitted leaves tags as they are.
      - At most 50; keys of 1 to 128 and values of up to 256 characters, made of letters, digits,
        spaces and C(_.:/=+-@) (IAM's rules).
      - Keys starting with C(aws:) (in any case) are reserved for AWS and refused here.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove tags not in O(tags) (only when O(tags) is given).
      - Tags whose key starts with C(aws:) are never removed or changed; AWS sets them itself
        and refuses to let anyone else do either.
    type: bool
    default: true
"""
