"""Turn the runs into a summary (medians, spreads, ratios, calls per triple) and a Markdown page."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from measure import Run
from workloads import AMAZON, AWS_WORKLOADS, COLLECTIONS, KEYLESS

WORKLOAD_TITLES = {"create": "create", "noop": "no-op", "change": "change"}
Spread = dict[str, float]


def spread(values: Iterable[float]) -> Spread:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


def subject(run: Run) -> str:
    """Who a run measures: a collection, or a floor (ping, set_fact, empty)."""
    return run.collection or run.workload


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
        "per_task_ms": spread(1000 * (run.raw_s - baseline["median"]) / tasks for run in runs),
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
    keyless, amazon, ping, set_fact = (
        _median(per_task(entries, who, workload, size, metric))
        for who, workload in ((KEYLESS, "noop"), (AMAZON, "noop"), ("ping", "floor"), ("set_fact", "floor"))
    )
    above = None
    if keyless is not None and amazon is not None and ping is not None:
        above = ratio(keyless - ping, amazon - ping)
    return {
        "size": size,
        "keyless_over_amazon": ratio(keyless, amazon),
        "keyless_over_ping": ratio(keyless, ping),
        "keyless_over_set_fact": ratio(keyless, set_fact),
        "above_ping_keyless_over_amazon": above,
    }


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
        if who in COLLECTIONS:
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
    return {
        "baseline_s": baseline,
        "baseline_cpu_s": baseline_cpu,
        "sizes": sizes,
        "times": entries,
        "noop_ratios": [noop_ratios(entries, size) for size in sizes],
        "noop_ratios_cpu": [noop_ratios(entries, size, "cpu_per_task_ms") for size in sizes],
        "calls": found,
        "calls_per_triple_size": sizes[0],
        "calls_per_triple": {who: triple_calls(found, who, sizes[0]) for who in COLLECTIONS},
    }


# --- Markdown -------------------------------------------------------------------------------


def fmt_number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.{digits}f}"


def fmt_spread(value: Spread | None, scale: float = 1.0, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    median, low, high = (value[key] * scale for key in ("median", "min", "max"))
    if value["n"] == 1:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = [f"| {' | '.join(head)} |", f"|{'|'.join('---' for _column in head)}|"]
    return lines + [f"| {' | '.join(row)} |" for row in rows]


def header_lines(header: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    machine, found = header["machine"], header["versions"]
    load = f"{machine['load_at_start']} at start, {machine.get('load_at_end', '?')} at end"
    return [
        "# keyless.aws vs amazon.aws: benchmark results",
        "",
        f"- Date: {header['date']}; bench wall time {header.get('bench_wall_s', 0) / 60:.1f} min",
        f"- Machine: {machine['cores']} cores, {machine['cpu']}; {machine['platform']}",
        f"- Load average (1, 5, 15 min): {load}",
        f"- Python {found['python']}, ansible-core {found['ansible-core']}, boto3 {found['boto3']}, "
        f"botocore {found['botocore']}, moto {found['moto']}, amazon.aws {found['amazon.aws']}",
        f"- Sizes N = {', '.join(map(str, header['sizes']))} triples; {header['reps']} repetition(s); "
        f"forks 1; each triple is 3 tasks",
        f'- Empty-playbook baseline (subtracted for "net"): {fmt_spread(summary["baseline_s"], 1, 2)} s '
        f"wall, {fmt_spread(summary['baseline_cpu_s'], 1, 2)} s CPU, over "
        f"{summary['baseline_s']['n']} runs",
        "- Times are medians over repetitions, [min-max] in brackets; see bench/README.md for the method.",
        "",
    ]


def noop_section(summary: dict[str, Any], metric: str, key: str, title: str) -> list[str]:
    entries = summary["times"]
    rows = []
    for size, ratios in zip(summary["sizes"], summary[key], strict=True):
        cells = [
            fmt_spread(per_task(entries, who, workload, size, metric))
            for who, workload in (
                (KEYLESS, "noop"),
                (AMAZON, "noop"),
                ("ping", "floor"),
                ("set_fact", "floor"),
            )
        ]
        rows.append(
            [
                str(size),
                *cells,
                *(
                    fmt_ratio(ratios[name])
                    for name in (
                        "keyless_over_amazon",
                        "keyless_over_ping",
                        "keyless_over_set_fact",
                        "above_ping_keyless_over_amazon",
                    )
                ),
            ]
        )
    head = [
        "N",
        "keyless.aws",
        "amazon.aws",
        "ping floor",
        "set_fact floor",
        "keyless / amazon.aws",
        "keyless / ping",
        "keyless / set_fact",
        "(keyless - ping) / (amazon.aws - ping)",
    ]
    return [f"## {title}", "", *table(head, rows), ""]


def workloads_section(summary: dict[str, Any]) -> list[str]:
    entries, rows = summary["times"], []
    for workload in AWS_WORKLOADS:
        for size in summary["sizes"]:
            keyless, amazon = (per_task(entries, who, workload, size) for who in COLLECTIONS)
            keyless_cpu, amazon_cpu = (
                per_task(entries, who, workload, size, "cpu_per_task_ms") for who in COLLECTIONS
            )
            rows.append(
                [
                    WORKLOAD_TITLES[workload],
                    str(size),
                    str(3 * size),
                    fmt_spread(keyless),
                    fmt_spread(amazon),
                    fmt_ratio(ratio(_median(keyless), _median(amazon))),
                    fmt_spread(keyless_cpu),
                    fmt_spread(amazon_cpu),
                    fmt_ratio(ratio(_median(keyless_cpu), _median(amazon_cpu))),
                ]
            )
    head = [
        "workload",
        "N",
        "tasks",
        "keyless.aws wall",
        "amazon.aws wall",
        "ratio",
        "keyless.aws CPU",
        "amazon.aws CPU",
        "CPU ratio",
    ]
    return ["## Every workload: net time per task (ms)", "", *table(head, rows), ""]


def runs_section(summary: dict[str, Any]) -> list[str]:
    rows = [
        [
            entry["subject"],
            WORKLOAD_TITLES.get(entry["workload"], "floor"),
            str(entry["size"]),
            str(entry["tasks"]),
            fmt_spread(entry["raw_s"], 1, 2),
            fmt_spread(entry["net_s"], 1, 2),
        ]
        for entry in summary["times"]
    ]
    head = ["run", "workload", "N", "tasks", "raw wall (s)", "net wall (s)"]
    return ["## Whole runs: raw and net wall time (s)", "", *table(head, rows), ""]


def _calls_columns() -> list[tuple[str, str]]:
    return [(who, workload) for who in COLLECTIONS for workload in AWS_WORKLOADS]


def _count(counts: dict[str, float], operation: str) -> str:
    """A cell of the calls table: blank when the operation was not called."""
    value = counts.get(operation, 0)
    return fmt_number(value) if value else ""


def calls_section(summary: dict[str, Any]) -> list[str]:
    per_triple, size = summary["calls_per_triple"], summary["calls_per_triple_size"]
    columns = _calls_columns()
    operations = sorted({op for who, workload in columns for op in per_triple[who][workload]})
    rows = [[op, *(_count(per_triple[who][workload], op) for who, workload in columns)] for op in operations]
    rows.append(
        [
            "**total**",
            *(f"**{fmt_number(sum(per_triple[who][workload].values()))}**" for who, workload in columns),
        ]
    )
    head = ["operation", *(f"{who.split('.')[0]} {WORKLOAD_TITLES[workload]}" for who, workload in columns)]
    note = (
        f"From the N = {size} runs. \"change\" is the edited triple's own calls: the change run's calls "
        "less the no-op calls of the triples it left alone."
    )
    return ["## AWS calls per triple, by operation", "", note, "", *table(head, rows), ""]


def calls_by_size_section(summary: dict[str, Any]) -> list[str]:
    found, columns, rows = summary["calls"], _calls_columns(), []
    for size in summary["sizes"]:
        cells = []
        for who, workload in columns:
            entry = found[who][workload][size]
            stable = "" if entry["same_in_every_rep"] else " (varied)"
            total, mutating = (fmt_number(entry[key] / size) for key in ("total", "mutating"))
            cells.append(f"{total} / {mutating}{stable}")
        rows.append([str(size), *cells])
    head = ["N", *(f"{who.split('.')[0]} {WORKLOAD_TITLES[workload]}" for who, workload in columns)]
    note = (
        'Whole run\'s calls / N, as all / mutating; "(varied)" marks counts that differed between '
        "repetitions. Constant per-triple counts mean no call grows with the number of resources."
    )
    return ["## AWS calls per triple, by N", "", note, "", *table(head, rows), ""]


def markdown(header: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = header_lines(header, summary)
    lines += noop_section(
        summary, "per_task_ms", "noop_ratios", "No-op converge: net wall time per task (ms)"
    )
    lines += noop_section(
        summary,
        "cpu_per_task_ms",
        "noop_ratios_cpu",
        "No-op converge: net CPU time per task (ms), less sensitive to other load",
    )
    lines += workloads_section(summary)
    lines += calls_section(summary)
    lines += calls_by_size_section(summary)
    lines += runs_section(summary)
    return "\n".join(lines)
