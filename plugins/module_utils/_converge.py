# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The one converge skeleton every behaviour uses, for present and absent alike.

read the current state -> plan actions and the predicted state (pure, may read more) ->
apply unless in check mode (execute, then read back what AWS now shows) -> result and diff.
Check mode returns the prediction, so ``changed``, the result and the diff come from the same
plan whether or not anything ran (amazon.aws's iam_instance_profile shape, without its
``if check_mode`` branches in every mutator).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ansible_collections.keyless.aws.plugins.module_utils._aws import iso
from ansible_collections.keyless.aws.plugins.module_utils._module import Runner
from ansible_collections.keyless.aws.plugins.module_utils._plan import Action, Conflict, Executor, Handler
from ansible_collections.keyless.aws.plugins.module_utils._retry import RetryPolicy, poll

State = dict[str, Any]


@dataclass
class Plan:
    """What to do and what will be: ``predicted`` is None when the resource will not exist."""

    actions: list[Action]
    predicted: State | None
    warnings: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)  # extra result keys, e.g. what a delete removed

    @property
    def operations(self) -> list[str]:
        return [action.operation for action in self.actions]


class Resource(ABC):
    """One AWS resource as a module sees it; ``converge`` drives it.

    A subclass is made from the module's parameters, the task's clients and check mode.
    """

    result_key: ClassVar[str] = ""  # the return value that holds the resource
    noun: ClassVar[str] = ""  # how messages name the resource, e.g. "instance profile"
    # The task's validated options; a resource whose create may conflict has ``name`` and ``wait_timeout``.
    desired: Any

    @abstractmethod
    def read(self) -> State | None:
        """The resource as AWS shows it now, or None when it does not exist."""

    @abstractmethod
    def plan(self, current: State | None) -> Plan:
        """The actions that bring ``current`` to the desired state; no mutating call."""

    def handlers(self) -> Mapping[str, Handler]:
        """The explicit operation -> handler table for this resource's actions."""
        return {}

    def apply(self, plan: Plan, current: State | None) -> State | None:
        """Execute ``plan`` and return the resource as it now is (None when gone).

        ``plan`` is updated to what this run did, which ``converge`` reports: an action another
        request had already done is dropped. When a create finds its resource already there (a
        parallel run, or botocore resending a create whose answer was lost), the resource is read
        and planned again from what it is, once, rather than failing or claiming success blindly.
        """
        executor = Executor(self.handlers())
        try:
            plan.actions = executor.run(plan.actions)
        except Conflict as conflict:
            current = self.read_existing(conflict)
            again = self.plan(current)
            plan.actions = conflict.applied + executor.run(again.actions)
            plan.predicted = again.predicted
            plan.warnings += again.warnings
            if not conflict.ours:
                plan.warnings.append(
                    f"{conflict.action.operation} answered: {conflict.message} Another request created it "
                    "after this task read it; the task converged from what AWS shows."
                )
        return self.read_after(plan, current)

    def read_existing(self, conflict: Conflict) -> State:
        """The resource a create found already there, polled up to ``wait_timeout`` whatever ``wait`` says.

        AWS said it exists, yet a read right after can still answer NoSuchEntity (IAM User Guide,
        "Changes that I make are not always immediately visible"). Only a resource with a create
        handler that declares ``exists`` gets here (role and instance profile); it sets ``noun``.
        """
        desired = self.desired
        return self.read_back(
            self.read,
            True,
            desired.wait_timeout,
            f"{self.noun} {desired.name}, which {conflict.action.operation} says exists",
        )

    def read_after(self, plan: Plan, current: State | None) -> State | None:
        """The resource once the plan ran: the prediction, unless a subclass reads AWS back."""
        return plan.predicted

    @staticmethod
    def read_back(fetch: Callable[[], State | None], wait: bool, timeout: float, what: str) -> State:
        """The resource once AWS shows the change: polled up to ``timeout`` with ``wait``, else read once.

        Right after a create IAM can answer NoSuchEntity for a few seconds (IAM User Guide, "Changes
        that I make are not always immediately visible"); a wait that runs out fails the task.
        """
        return poll(fetch, RetryPolicy(timeout=timeout if wait else 0), what)

    def result(self, after: State | None) -> dict[str, Any]:
        """The module's own return values for the state after the task (empty when gone)."""
        return {self.result_key: after or {}}

    def diff_view(self, state: State | None) -> dict[str, Any]:
        """What ``--diff`` shows of a state; nothing by default."""
        return {}


def converge(resource: Resource, check_mode: bool, diff: bool) -> dict[str, Any]:
    current = resource.read()
    plan = resource.plan(current)
    after = plan.predicted
    if plan.actions and not check_mode:
        after = resource.apply(plan, current)
    result: dict[str, Any] = {
        "changed": bool(plan.actions),
        **resource.result(after),
        "operations": plan.operations,
        **plan.report,
    }
    if plan.warnings:
        result["warnings"] = list(plan.warnings)
    if diff:
        result["diff"] = make_diff(resource.diff_view(current), resource.diff_view(after))
    return result


def runner(resource: Callable[[Mapping[str, Any], Any, bool], Resource]) -> Runner:
    """A module's ``run(params, clients, check_mode, diff)``: converge the resource it makes."""

    def run(params: Mapping[str, Any], clients: Any, check_mode: bool, diff: bool) -> dict[str, Any]:
        return converge(resource(params, clients, check_mode), check_mode, diff)

    return run


def with_created(
    predicted: State | None, created: Mapping[str, Any] | None, id_key: str, answer_id_key: str
) -> State | None:
    """The prediction, with the identifiers the create answered when this run created the resource.

    ``id_key`` is the resource's id in the return value (``role_id``), ``answer_id_key`` the same id
    in the create's answer (``RoleId``); the ARN and creation date are named alike by every IAM create.
    """
    if predicted is None or created is None:
        return predicted
    return {
        **predicted,
        id_key: created.get(answer_id_key),
        "arn": created.get("Arn"),
        "create_date": iso(created.get("CreateDate")),
    }


def make_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """Ansible's diff structure; absent resources are shown as an empty mapping."""
    return {"before": dict(before or {}), "after": dict(after or {})}
