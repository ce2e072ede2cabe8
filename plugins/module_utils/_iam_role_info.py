# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.iam_role_info (read-only, never changes anything), and its ``SPEC``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _iam
from ansible_collections.keyless.aws.plugins.module_utils._iam_role import role_view
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec
from ansible_collections.keyless.aws.plugins.module_utils._validate import validate_path, validate_role_name

OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "aliases": ["role_name"]},
    "path_prefix": {"type": "str", "aliases": ["path"]},
}


def normalize_path_prefix(prefix: str) -> str:
    """A prefix as a whole path: ``team``, ``/team`` and ``team/`` all mean ``/team/``.

    ListRoles' model takes ``/`` followed by any printable ASCII and matches it as text, so ``/team``
    would also list ``/teamwork/``; like amazon.aws.iam_role_info, both slashes are added.
    """
    return f"/{prefix.strip('/')}/" if prefix.strip("/") else "/"


def validate_info_params(params: Mapping[str, Any]) -> None:
    # name and path_prefix together are refused by the spec (mutually_exclusive, below).
    if params.get("name"):
        validate_role_name(params["name"])
    if params.get("path_prefix"):
        validate_path(normalize_path_prefix(params["path_prefix"]), "path_prefix")


def describe_role(iam: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A role with everything attached to it: inline and managed policies, profiles."""
    name = raw["RoleName"]
    view = role_view(raw, _iam.list_attached_role_policy_arns(iam, name))
    view["inline_policies"] = {
        policy: _iam.get_role_policy(iam, name, policy) for policy in _iam.list_role_policy_names(iam, name)
    }
    view["instance_profiles"] = [
        # Path is a required member of IAM's InstanceProfile (botocore's model): always answered.
        {"instance_profile_name": p["InstanceProfileName"], "arn": p["Arn"], "path": p["Path"]}
        for p in _iam.list_instance_profiles_for_role(iam, name)
    ]
    return view


def run(params: Mapping[str, Any], clients: Any, check_mode: bool, diff: bool) -> dict[str, Any]:
    validate_info_params(params)
    iam = clients.iam
    if params.get("name"):
        # ListRoles omits tags and the permissions boundary; GetRole has them.
        raw = _iam.get_role(iam, params["name"])
        raws = [] if raw is None else [raw]
    else:
        raws = [
            _iam.get_role(iam, r["RoleName"]) or r
            for r in _iam.list_roles(iam, normalize_path_prefix(params.get("path_prefix") or "/"))
        ]
    return {"changed": False, "roles": [describe_role(iam, raw) for raw in raws]}


SPEC = ModuleSpec(OPTIONS, run, spec_extras={"mutually_exclusive": [("name", "path_prefix")]}, diff=False)
