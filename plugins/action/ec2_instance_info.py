# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyless.aws.ec2_instance_info in the controller process when that is where it would run (fast path)."""

from __future__ import annotations

from ansible_collections.keyless.aws.plugins.module_utils._ec2_instance_info import SPEC
from ansible_collections.keyless.aws.plugins.plugin_utils._fast_path import FastPathAction


class ActionModule(FastPathAction):
    spec = SPEC
