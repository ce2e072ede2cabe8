"""chart.png: no-op time per task and per run against N, and AWS calls per triple by workload.

matplotlib is optional (requirements/bench.txt): without it the chart is skipped with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measure import is_mutating
from report import per_task
from workloads import AMAZON, AWS_WORKLOADS, KEYLESS, KEYLESS_MODULE

LINES = (  # (subject, workload in the summary, label, colour, line style)
    (KEYLESS, "noop", "keyless.aws no-op", "#1b7837", "-"),
    (KEYLESS_MODULE, "noop", "keyless.aws no-op, module path", "#7fbf7b", "-."),
    (AMAZON, "noop", "amazon.aws no-op", "#c51b7d", "-"),
    ("ping", "floor", "ansible.builtin.ping floor", "#555555", "--"),
    ("set_fact", "floor", "ansible.builtin.set_fact floor", "#999999", ":"),
)
COLOURS = {KEYLESS: "#1b7837", KEYLESS_MODULE: "#7fbf7b", AMAZON: "#c51b7d"}
TITLES = {"create": "create", "noop": "no-op", "change": "one change"}


def _time_panel(axes: Any, summary: dict[str, Any]) -> None:
    sizes = summary["sizes"]
    for who, workload, label, colour, style in LINES:
        spreads = [per_task(summary["times"], who, workload, size) for size in sizes]
        points = [(size, value) for size, value in zip(sizes, spreads, strict=True) if value]
        medians = [value["median"] for _size, value in points]
        errors = [
            [m - value["min"] for m, (_size, value) in zip(medians, points, strict=True)],
            [value["max"] - m for m, (_size, value) in zip(medians, points, strict=True)],
        ]
        axes.errorbar(
            [size for size, _value in points],
            medians,
            yerr=errors,
            label=label,
            color=colour,
            linestyle=style,
            marker="o",
            capsize=3,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(sizes, [str(size) for size in sizes])
    axes.minorticks_off()
    axes.set_xlabel("N (triples; 3N tasks)")
    axes.set_ylabel("wall time per task (ms, log scale)")
    axes.set_title("No-op: time per task (median, fastest-slowest)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small")


def _growth_panel(axes: Any, summary: dict[str, Any]) -> None:
    """The whole no-op run's net wall time against N: linear growth is a straight line."""
    sizes = summary["sizes"]
    for who, workload, label, colour, style in LINES:
        spreads = [per_task(summary["times"], who, workload, size, "net_s") for size in sizes]
        points = [(size, value["median"]) for size, value in zip(sizes, spreads, strict=True) if value]
        if points:
            axes.plot(*zip(*points, strict=True), label=label, color=colour, linestyle=style, marker="o")
    axes.set_xticks(sizes, [str(size) for size in sizes])
    axes.set_ylim(bottom=0)
    axes.set_xlabel("N (triples; 3N tasks)")
    axes.set_ylabel("net wall time of the run (s)")
    axes.set_title("No-op: whole run against N")
    axes.grid(alpha=0.3)


def _calls_panel(axes: Any, summary: dict[str, Any]) -> None:
    """Grouped bars, one pair per workload; the hatched part is the mutating calls."""
    per_triple, subjects = summary["calls_per_triple"], summary["subjects"]
    width = 0.8 / len(subjects)
    offsets = [width * (index - (len(subjects) - 1) / 2) for index in range(len(subjects))]
    for offset, who in zip(offsets, subjects, strict=True):
        counts = [per_triple[who][workload] for workload in AWS_WORKLOADS]
        totals = [sum(count.values()) for count in counts]
        writes = [sum(n for op, n in count.items() if is_mutating(op.split(":", 1)[1])) for count in counts]
        positions = [index + offset for index in range(len(AWS_WORKLOADS))]
        axes.bar(positions, writes, width, color=COLOURS[who], hatch="///", edgecolor="white")
        bars = axes.bar(
            positions,
            [t - w for t, w in zip(totals, writes, strict=True)],
            width,
            bottom=writes,
            label=who,
            color=COLOURS[who],
        )
        axes.bar_label(bars, labels=[f"{total:g}" for total in totals], fontsize="small", padding=2)
    axes.bar([0], [0], color="#bbbbbb", hatch="///", edgecolor="white", label="of which mutating")
    axes.set_xticks(range(len(AWS_WORKLOADS)), [TITLES[workload] for workload in AWS_WORKLOADS])
    axes.set_ylabel("AWS API calls per triple")
    axes.set_title(f"AWS calls per triple (N = {summary['calls_per_triple_size']})")
    axes.margins(y=0.15)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="x-small")


def draw(summary: dict[str, Any], path: Path) -> bool:
    """Write the PNG; False (with a note) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "note: matplotlib is not installed, so no chart was drawn (the tables are written). "
            "Install it with: pip install -r requirements/bench.txt"
        )
        return False
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.4), dpi=100)
    _time_panel(left, summary)
    _growth_panel(middle, summary)
    _calls_panel(right, summary)
    figure.suptitle("keyless.aws vs amazon.aws on the recording moto server", fontsize="medium")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    print(f"chart: {path}")
    return True
