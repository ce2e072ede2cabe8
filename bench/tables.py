"""results.md: the summary of report.py as Markdown tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from report import SHORT, WORKLOAD_TITLES, Spread, per_task, ratio
from workloads import AMAZON, AWS_WORKLOADS, KEYLESS, KEYLESS_MODULE

FLOOR_COLUMNS = (("ping", "floor", "ping floor"), ("set_fact", "floor", "set_fact floor"))
RATIO_COLUMNS = (
    ("keyless_over_amazon", "keyless / amazon.aws"),
    ("keyless_over_ping", "keyless / ping"),
    ("keyless_over_set_fact", "keyless / set_fact"),
)
MODULE_RATIO_COLUMNS = (
    ("module_path_over_amazon", "module path / amazon.aws"),
    ("keyless_over_module_path", "keyless / module path"),
)

WHOLE_RUN_NOTE = (
    "Whole runs: (run - empty playbook) / tasks, median [min-max] over repetitions. These "
    "include what a playbook costs beyond the empty play's (loading the collection, the first "
    "task's imports); CPU time (the process tree's) is the least sensitive to other load."
)
GROWTH_NOTE = (
    "Least-squares line through (tasks, net wall time of the run) over the sizes. Linear growth: "
    "R² near 1 and a slope close to the median task; a cost that grew with N would bend the "
    "line up and put the slope above the median task."
)


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


def section(title: str, head: list[str], rows: Iterable[list[str]], note: str = "") -> list[str]:
    """A ``##`` heading, an optional note, the table."""
    return [f"## {title}", "", *([note, ""] if note else []), *table(head, rows), ""]


def _median(value: Spread | None) -> float | None:
    return None if value is None else value["median"]


def header_lines(header: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    machine, found = header["machine"], header["versions"]
    load = f"{machine['load_at_start']} at start, {machine.get('load_at_end', '?')} at end"
    return [
        "# keyless.aws vs amazon.aws: benchmark results",
        "",
        f"- Date: {header['date']}; bench wall time {header.get('bench_wall_s', 0) / 60:.1f} min",
        f"- Command: `{header.get('command', 'bench/run.py')}`",
        f"- Machine: {machine['cores']} cores, {machine['cpu']}; {machine['platform']}",
        f"- Load average (1, 5, 15 min): {load}",
        f"- Python {found['python']}, ansible-core {found['ansible-core']}, boto3 {found['boto3']}, "
        f"botocore {found['botocore']}, moto {found['moto']}, amazon.aws {found['amazon.aws']}",
        f"- Sizes N = {', '.join(map(str, header['sizes']))} triples; {header['reps']} repetition(s); "
        f"forks 1; each triple is 3 tasks",
        f'- Empty-playbook baseline (subtracted for "net"): {fmt_spread(summary["baseline_s"], 1, 2)} s '
        f"wall, {fmt_spread(summary['baseline_cpu_s'], 1, 2)} s CPU, over "
        f"{summary['baseline_s']['n']} runs",
        "- Time per task: the median of every single task's wall time over all repetitions, "
        "[fastest-slowest task] in brackets, unless a table says otherwise; see bench/README.md.",
        "",
    ]


def _has_module_path(summary: dict[str, Any]) -> bool:
    return KEYLESS_MODULE in summary["subjects"]


def noop_section(summary: dict[str, Any]) -> list[str]:
    entries, module = summary["times"], _has_module_path(summary)
    columns = [(KEYLESS, "noop", "keyless.aws")]
    columns += [(KEYLESS_MODULE, "noop", "keyless.aws module path")] if module else []
    columns += [(AMAZON, "noop", "amazon.aws"), *FLOOR_COLUMNS]
    ratio_columns = [*RATIO_COLUMNS, *(MODULE_RATIO_COLUMNS if module else ())]
    rows = []
    for size, ratios in zip(summary["sizes"], summary["noop_ratios"], strict=True):
        cells = [fmt_spread(per_task(entries, who, workload, size)) for who, workload, _title in columns]
        rows.append([str(size), *cells, *(fmt_ratio(ratios[name]) for name, _title in ratio_columns)])
    head = ["N", *(title for _who, _workload, title in columns), *(title for _name, title in ratio_columns)]
    return section("No-op converge: wall time per task (ms)", head, rows)


def whole_run_section(summary: dict[str, Any]) -> list[str]:
    """The no-op runs' net wall and CPU time over their tasks: the fixed costs of a playbook
    beyond the empty one's are in these, and CPU time hardly moves with other load."""
    entries, rows = summary["times"], []
    subjects = summary["subjects"]
    ratios = zip(summary["sizes"], summary["noop_ratios_mean"], summary["noop_ratios_cpu"], strict=True)
    for size, wall, cpu in ratios:
        cells = []
        for who in subjects:
            for metric in ("mean_per_task_ms", "cpu_per_task_ms"):
                cells.append(fmt_spread(per_task(entries, who, "noop", size, metric)))
        rows.append(
            [str(size), *cells, fmt_ratio(wall["keyless_over_amazon"]), fmt_ratio(cpu["keyless_over_amazon"])]
        )
    head = ["N", *(f"{SHORT[who]} {kind}" for who in subjects for kind in ("wall", "CPU"))]
    head += ["keyless / amazon.aws wall", "keyless / amazon.aws CPU"]
    return section("No-op converge: whole-run time per task (ms)", head, rows, WHOLE_RUN_NOTE)


def workloads_section(summary: dict[str, Any]) -> list[str]:
    entries, subjects, rows = summary["times"], summary["subjects"], []
    for workload in AWS_WORKLOADS:
        for size in summary["sizes"]:
            spreads = {who: per_task(entries, who, workload, size) for who in subjects}
            keyless_over_amazon = ratio(_median(spreads.get(KEYLESS)), _median(spreads.get(AMAZON)))
            rows.append(
                [
                    WORKLOAD_TITLES[workload],
                    str(size),
                    str(3 * size),
                    *(fmt_spread(spreads[who]) for who in subjects),
                    fmt_ratio(keyless_over_amazon),
                ]
            )
    head = ["workload", "N", "tasks", *subjects, "keyless / amazon.aws"]
    return section("Every workload: wall time per task (ms)", head, rows)


def growth_section(summary: dict[str, Any]) -> list[str]:
    rows = [
        [
            entry["subject"],
            WORKLOAD_TITLES.get(entry["workload"], "floor"),
            ", ".join(map(str, entry["sizes"])),
            f"{entry['slope_ms_per_task']:.0f}",
            f"{entry['largest_n_per_task_ms']:.0f}",
            f"{entry['intercept_s']:.2f}",
            f"{entry['r2']:.4f}",
        ]
        for entry in summary["growth"]
    ]
    head = ["run", "workload", "N", "slope (ms per task)", "median task at largest N (ms)"]
    head += ["intercept (s)", "R²"]
    return section("Growth with N", head, rows, GROWTH_NOTE)


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
    return section("Whole runs: raw and net wall time (s)", head, rows)


def _calls_columns(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(who, workload) for who in summary["subjects"] for workload in AWS_WORKLOADS]


def _calls_head(columns: list[tuple[str, str]]) -> list[str]:
    return [f"{SHORT[who]} {WORKLOAD_TITLES[workload]}" for who, workload in columns]


def _count(counts: dict[str, float], operation: str) -> str:
    """A cell of the calls table: blank when the operation was not called."""
    value = counts.get(operation, 0)
    return fmt_number(value) if value else ""


def calls_section(summary: dict[str, Any]) -> list[str]:
    per_triple, size = summary["calls_per_triple"], summary["calls_per_triple_size"]
    columns = _calls_columns(summary)
    operations = sorted({op for who, workload in columns for op in per_triple[who][workload]})
    rows = [[op, *(_count(per_triple[who][workload], op) for who, workload in columns)] for op in operations]
    totals = (fmt_number(sum(per_triple[who][workload].values())) for who, workload in columns)
    rows.append(["**total**", *(f"**{total}**" for total in totals)])
    note = (
        f"From the N = {size} runs. \"change\" is the edited triple's own calls: the change run's calls "
        "less the no-op calls of the triples it left alone."
    )
    head = ["operation", *_calls_head(columns)]
    return section("AWS calls per triple, by operation", head, rows, note)


def calls_by_size_section(summary: dict[str, Any]) -> list[str]:
    found, columns, rows = summary["calls"], _calls_columns(summary), []
    for size in summary["sizes"]:
        cells = []
        for who, workload in columns:
            entry = found[who][workload][size]
            stable = "" if entry["same_in_every_rep"] else " (varied)"
            total, mutating = (fmt_number(entry[key] / size) for key in ("total", "mutating"))
            cells.append(f"{total} / {mutating}{stable}")
        rows.append([str(size), *cells])
    note = (
        'Whole run\'s calls / N, as all / mutating; "(varied)" marks counts that differed between '
        "repetitions. Constant per-triple counts mean no call grows with the number of resources."
    )
    return section("AWS calls per triple, by N", ["N", *_calls_head(columns)], rows, note)


def markdown(header: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = header_lines(header, summary)
    for section in (
        noop_section,
        whole_run_section,
        workloads_section,
        growth_section,
        calls_section,
        calls_by_size_section,
        runs_section,
    ):
        lines += section(summary)
    return "\n".join(lines)
