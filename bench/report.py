"""Turn the runs into a summary (medians, spreads, ratios, growth, calls per triple) and Markdown.

Two kinds of time per task:

- ``per_task_ms``: the wall time of single tasks, from the timer callback, pooled over the
  repetitions: median and [min-max] of every task. ansible-playbook's start-up is not in it.
- ``mean_per_task_ms``, ``cpu_per_task_ms``: a whole run's wall (CPU) time less the empty
  playbook's median, divided by its tasks; median and [min-max] over the repetitions.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from measure import Run
from workloads import AMAZON, KEYLESS, KEYLESS_MODULE, SUBJECTS

WORKLOAD_TITLES = {"create": "create", "noop": "no-op", "change": "change"}
SHORT = {KEYLESS: "keyless", KEYLESS_MODULE: "keyless module path", AMAZON: "amazon"}
Spread = dict[str, float]


def spread(values: Iterable[float]) -> Spread:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


def subject(run: Run) -> str:
    """Who a run measures: a collection, or a floor (ping, set_fact, empty)."""
    return run.collection or run.workload


def subjects_in(runs: list[Run]) -> list[str]:
    present = {run.collection for run in runs}
    return [who for who in SUBJECTS if who in present]


def _group(runs: list[Run]) -> dict[tuple[str, str, int], list[Run]]:
    groups: dict[tuple[str, str, int], list[Run]] = defaultdict(list)
    for run in runs:
        workload = run.workload if run.collection else "floor"
        groups[(subject(run), workload, run.size)].append(run)
    return groups


# --- times ----------------------------------------------------------------------------------


def _time_entry(
    key: tuple[str, str, int], runs: list[Run], baseline: Spread, baseline_cpu: Spread
) -> dict[str, Any]:
    who, workload, size = key
    tasks = runs[0].tasks
    return {
        "subject": who,
        "workload": workload,
        "size": size,
        "tasks": tasks,
        "raw_s": spread(run.raw_s for run in runs),
        "net_s": spread(run.raw_s - baseline["median"] for run in runs),
        "per_task_ms": spread(1000 * seconds for run in runs for seconds in run.task_s),
        "mean_per_task_ms": spread(1000 * (run.raw_s - baseline["median"]) / tasks for run in runs),
        "cpu_per_task_ms": spread(1000 * (run.cpu_s - baseline_cpu["median"]) / tasks for run in runs),
    }


def times(runs: list[Run]) -> tuple[Spread, Spread, list[dict[str, Any]]]:
    empty = [run for run in runs if run.workload == "empty"]
    baseline = spread(run.raw_s for run in empty)
    baseline_cpu = spread(run.cpu_s for run in empty)
    entries = [
        _time_entry(key, group, baseline, baseline_cpu)
        for key, group in sorted(_group(runs).items())
        if key[0] != "empty"
    ]
    return baseline, baseline_cpu, entries


def per_task(
    entries: list[dict[str, Any]], who: str, workload: str, size: int, metric: str = "per_task_ms"
) -> Spread | None:
    for entry in entries:
        if (entry["subject"], entry["workload"], entry["size"]) == (who, workload, size):
            return entry[metric]
    return None


def ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom <= 0:
        return None
    return top / bottom


def _median(value: Spread | None) -> float | None:
    return None if value is None else value["median"]


def noop_ratios(entries: list[dict[str, Any]], size: int, metric: str = "per_task_ms") -> dict[str, Any]:
    keyless, module, amazon, ping, set_fact = (
        _median(per_task(entries, who, workload, size, metric))
        for who, workload in (
            (KEYLESS, "noop"),
            (KEYLESS_MODULE, "noop"),
            (AMAZON, "noop"),
            ("ping", "floor"),
            ("set_fact", "floor"),
        )
    )
    return {
        "size": size,
        "keyless_over_amazon": ratio(keyless, amazon),
        "keyless_over_ping": ratio(keyless, ping),
        "keyless_over_set_fact": ratio(keyless, set_fact),
        "module_path_over_amazon": ratio(module, amazon),
        "keyless_over_module_path": ratio(keyless, module),
    }


# --- growth with N --------------------------------------------------------------------------


def linear_fit(points: list[tuple[float, float]]) -> dict[str, float] | None:
    """Least squares y = intercept + slope * x, with R^2; None for fewer than two distinct x."""
    xs, ys = [x for x, _y in points], [y for _x, y in points]
    if len(set(xs)) < 2:
        return None
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in points)
    return {"slope": slope, "intercept": intercept, "r2": 1.0 if total == 0 else 1 - residual / total}


def growth(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per subject and workload: the whole run's net wall time against its number of tasks.

    Linear growth means a straight line (R^2 near 1) whose slope, the cost of one more task,
    is close to the per-task median; a cost that grew with N would bend it upwards.
    """
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_key[(entry["subject"], entry["workload"])].append(entry)
    found = []
    for (who, workload), group in sorted(by_key.items()):
        fit = linear_fit([(entry["tasks"], entry["net_s"]["median"]) for entry in group])
        if fit is None:
            continue
        largest = max(group, key=lambda entry: entry["size"])
        found.append(
            {
                "subject": who,
                "workload": workload,
                "sizes": sorted(entry["size"] for entry in group),
                "slope_ms_per_task": 1000 * fit["slope"],
                "intercept_s": fit["intercept"],
                "r2": fit["r2"],
                "largest_n_per_task_ms": largest["per_task_ms"]["median"],
            }
        )
    return found


# --- calls ----------------------------------------------------------------------------------


def _calls_entry(runs: list[Run]) -> dict[str, Any]:
    first = runs[0]
    return {
        "calls": first.calls,
        "total": sum(first.calls.values()),
        "mutating": first.mutating,
        "errors": first.errors,
        "same_in_every_rep": all(run.calls == first.calls for run in runs),
    }


def calls(runs: list[Run]) -> dict[str, dict[str, dict[int, dict[str, Any]]]]:
    """{collection: {workload: {N: the run's calls, totals, and whether reps agreed}}}."""
    found: dict[str, dict[str, dict[int, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for (who, workload, size), group in sorted(_group(runs).items()):
        if who in SUBJECTS:
            found[who][workload][size] = _calls_entry(group)
    return {who: dict(by_workload) for who, by_workload in found.items()}


def triple_calls(found: dict[str, Any], collection: str, size: int) -> dict[str, Counter[str]]:
    """Calls per triple by operation. For "change", the edited triple's own calls: the change
    run's calls less the no-op calls of the N-1 triples it left alone."""
    create = Counter(found[collection]["create"][size]["calls"])
    noop = Counter(found[collection]["noop"][size]["calls"])
    change = Counter(found[collection]["change"][size]["calls"])
    scale = 1 / size
    per_triple = {
        "create": Counter({op: count * scale for op, count in create.items()}),
        "noop": Counter({op: count * scale for op, count in noop.items()}),
        "change": Counter({op: change[op] - noop[op] * (size - 1) * scale for op in change | noop}),
    }
    return {
        workload: Counter({op: n for op, n in counts.items() if n}) for workload, counts in per_triple.items()
    }


def summarize(runs: list[Run]) -> dict[str, Any]:
    baseline, baseline_cpu, entries = times(runs)
    sizes = sorted({run.size for run in runs})
    found = calls(runs)
    subjects = subjects_in(runs)
    return {
        "baseline_s": baseline,
        "baseline_cpu_s": baseline_cpu,
        "sizes": sizes,
        "subjects": subjects,
        "times": entries,
        "noop_ratios": [noop_ratios(entries, size) for size in sizes],
        "noop_ratios_mean": [noop_ratios(entries, size, "mean_per_task_ms") for size in sizes],
        "noop_ratios_cpu": [noop_ratios(entries, size, "cpu_per_task_ms") for size in sizes],
        "growth": growth(entries),
        "calls": found,
        "calls_per_triple_size": sizes[0],
        "calls_per_triple": {who: triple_calls(found, who, sizes[0]) for who in subjects},
    }
