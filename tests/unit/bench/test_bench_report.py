"""bench/: the summary's arithmetic, its Markdown and the per-task timer callback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "callback_plugins"))

import keyless_bench_timer  # noqa: E402
import report  # noqa: E402
import tables  # noqa: E402
from measure import Run  # noqa: E402
from workloads import AMAZON, KEYLESS, KEYLESS_MODULE  # noqa: E402

NOOP = {"iam:GetRole": 1, "iam:GetRolePolicy": 1, "iam:GetInstanceProfile": 1}


def make_run(collection, workload, size, task_ms, raw_s=None, calls=None, rep=0):
    tasks = 3 * size if workload != "empty" else 0
    task_s = [task_ms / 1000] * tasks
    return Run(
        rep=rep,
        size=size,
        workload=workload,
        collection=collection,
        tasks=tasks,
        raw_s=raw_s if raw_s is not None else 0.5 + sum(task_s),
        cpu_s=0.5 + sum(task_s),
        changed=0,
        calls={op: count * size for op, count in (calls or {}).items()},
        task_s=task_s,
    )


def runs_for(sizes, subjects=(KEYLESS, AMAZON)):
    cost = {KEYLESS: 40, KEYLESS_MODULE: 450, AMAZON: 500}
    runs = []
    for size in sizes:
        for who in subjects:
            for workload in ("create", "noop", "change"):
                runs.append(make_run(who, workload, size, cost[who], calls=NOOP))
        runs.append(make_run(None, "ping", size, 200))
        runs.append(make_run(None, "set_fact", size, 10))
        runs.append(make_run(None, "empty", size, 0, raw_s=0.5))
    return runs


def test_linear_fit_is_exact_on_a_line_and_below_one_when_bent():
    line = report.linear_fit([(3, 1.0 + 0.05 * 3), (30, 1.0 + 0.05 * 30), (150, 1.0 + 0.05 * 150)])
    assert line["slope"] == pytest.approx(0.05)
    assert line["intercept"] == pytest.approx(1.0)
    assert line["r2"] == pytest.approx(1.0)
    bent = report.linear_fit([(1, 1.0), (10, 100.0), (50, 2500.0)])
    assert bent["r2"] < 0.99
    assert report.linear_fit([(3, 1.0), (3, 2.0)]) is None


def test_per_task_time_pools_every_task_of_every_repetition():
    runs = [make_run(KEYLESS, "noop", 1, 40, rep=0), make_run(KEYLESS, "noop", 1, 60, rep=1)]
    runs[0].task_s[0] = 0.300  # one slow first task
    runs += [make_run(None, "empty", 1, 0, raw_s=0.5)]
    _baseline, _cpu, entries = report.times(runs)
    spread = report.per_task(entries, KEYLESS, "noop", 1)
    assert spread["n"] == 6
    assert spread["min"] == pytest.approx(40)
    assert spread["max"] == pytest.approx(300)
    assert spread["median"] == pytest.approx(60)  # of 40, 40, 60, 60, 60, 300


def test_summary_ratios_growth_and_calls():
    summary = report.summarize(runs_for([1, 10, 50]))
    by_size = {entry["size"]: entry for entry in summary["noop_ratios"]}
    assert by_size[50]["keyless_over_amazon"] == pytest.approx(40 / 500)
    assert by_size[50]["keyless_over_ping"] == pytest.approx(40 / 200)
    assert by_size[50]["module_path_over_amazon"] is None
    keyless_noop = next(
        entry for entry in summary["growth"] if (entry["subject"], entry["workload"]) == (KEYLESS, "noop")
    )
    assert keyless_noop["slope_ms_per_task"] == pytest.approx(40)
    assert keyless_noop["r2"] == pytest.approx(1.0)
    assert sum(summary["calls_per_triple"][KEYLESS]["noop"].values()) == pytest.approx(3)


def test_markdown_shows_the_module_path_only_when_it_was_measured():
    header = {
        "date": "2026-11-28 00:00 UTC",
        "machine": {"cores": 2, "cpu": "cpu", "platform": "linux", "load_at_start": [0.0, 0.0, 0.0]},
        "versions": {
            name: "1" for name in ("python", "ansible-core", "boto3", "botocore", "moto", "amazon.aws")
        },
        "sizes": [1, 10],
        "reps": 1,
    }
    without = tables.markdown(header, report.summarize(runs_for([1, 10])))
    assert "module path" not in without
    assert "| 10 | 40 [40-40] | 500 [500-500] | 200 [200-200] | 10 [10-10] | 0.08 | 0.20 | 4.00 |" in without
    three = runs_for([1, 10], (KEYLESS, KEYLESS_MODULE, AMAZON))
    with_module = tables.markdown(header, report.summarize(three))
    assert (
        "| 10 | 40 [40-40] | 450 [450-450] | 500 [500-500] | 200 [200-200] | 10 [10-10] "
        "| 0.08 | 0.20 | 4.00 | 0.90 | 0.09 |" in with_module
    )


def test_timer_callback_writes_one_interval_per_task(tmp_path, monkeypatch):
    output = tmp_path / "times.json"
    monkeypatch.setenv(keyless_bench_timer.OUTPUT_ENV, str(output))
    timer = keyless_bench_timer.CallbackModule()
    for _task in range(3):
        timer.v2_playbook_on_task_start(None, False)
    timer.v2_playbook_on_stats(None)
    intervals = json.loads(output.read_text())
    assert len(intervals) == 3
    assert all(value >= 0 for value in intervals)
