"""Benchmark keyless.aws against amazon.aws on the project's recording moto server.

Run: ``python bench/run.py [--sizes 1,10,50] [--reps 3] [--out bench/out]`` from the
project's venv. bench/README.md describes the method; results.md, results.json and chart.png
land in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import anchor
import chart
import report
import tables
import workloads
from measure import REPO, Run, Runner
from workloads import AMAZON, KEYLESS, KEYLESS_MODULE, SUBJECTS

sys.path.insert(0, str(REPO / "sandbox"))
import awscalls
from launcher import start_aws_server

DEFAULT_SIZES = "1,10,50"
DEFAULT_REPS = 1
KEYLESS_LINK = REPO / ".build" / "collections" / "ansible_collections" / "keyless" / "aws"
PREFLIGHT_SIZE = 1


def _sizes(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of integers: {value}") from error
    if not sizes or sizes[0] < 1 or sizes[-1] > 999:
        raise argparse.ArgumentTypeError("sizes must be between 1 and 999")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=_sizes(DEFAULT_SIZES),
        help=f"numbers of triples N, comma-separated (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--reps", type=int, default=DEFAULT_REPS, help=f"repetitions (default {DEFAULT_REPS})"
    )
    parser.add_argument(
        "--module-path",
        action="store_true",
        help="also measure keyless.aws with its fast path off (a module process per task, as amazon.aws)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "out",
        help=(
            "where results.md, results.json and chart.png go (default bench/out, git-ignored;"
            " the README's published results are in bench/results)"
        ),
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=REPO / ".cache" / "bench",
        help="amazon.aws download and extraction cache (default .cache/bench)",
    )
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


# --- set-up ---------------------------------------------------------------------------------


def ensure_keyless_link() -> None:
    """The link `make link` and tests/conftest.py make: keyless.aws resolves to the checkout."""
    if not KEYLESS_LINK.exists():
        KEYLESS_LINK.parent.mkdir(parents=True, exist_ok=True)
        KEYLESS_LINK.symlink_to(Path("../../../.."), target_is_directory=True)


def versions(collections: Path) -> dict[str, str]:
    found = {name: metadata.version(name) for name in ("ansible-core", "boto3", "botocore", "moto")}
    found["amazon.aws"] = f"{anchor.collection_version(collections)} (ansible {anchor.ANSIBLE_VERSION})"
    found["python"] = platform.python_version()
    return found


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "load_at_start": [round(load, 2) for load in os.getloadavg()],
    }


# --- the runs -------------------------------------------------------------------------------


class Bench:
    """Writes the playbooks, runs them in the alternating order and checks every outcome."""

    def __init__(self, runner: Runner, playbooks: Path, subjects: tuple[str, ...]) -> None:
        self.runner = runner
        self.playbooks = playbooks
        self.subjects = subjects
        self.runs: list[Run] = []

    def run(self, rep: int, size: int, workload: str, collection: str | None = None) -> Run:
        playbook = workloads.write_playbook(
            self.playbooks, workload, collection, size, self.runner.endpoint, self.runner.python
        )
        tasks = len(workloads.tasks_for(workload, collection, size))
        meta = {"rep": rep, "size": size, "workload": workload, "collection": collection, "tasks": tasks}
        result = self.runner.measure(playbook, meta)
        check_outcome(result)
        label = f"rep {rep + 1}" if rep >= 0 else "pre  "
        print(
            f"  {label} N={size:<3} {collection or 'floor':<25} {workload:<8} "
            f"{result.raw_s:7.2f} s  cpu {result.cpu_s:7.2f} s  changed {result.changed:<3} "
            f"calls {sum(result.calls.values())}",
            flush=True,
        )
        return result

    def chain(self, rep: int, size: int, collection: str) -> list[Run]:
        """From an empty moto: create, then the no-op converge, then one policy edit."""
        awscalls.reset_moto(self.runner.endpoint)
        return [self.run(rep, size, workload, collection) for workload in workloads.AWS_WORKLOADS]

    def cell(self, rep: int, size: int, item: str) -> list[Run]:
        if item in SUBJECTS:
            return self.chain(rep, size, item)
        return [self.run(rep, size, item)]

    def measure_all(self, sizes: list[int], reps: int) -> None:
        for rep, size, order in schedule(sizes, reps, self.subjects):
            for item in order:
                self.runs.extend(self.cell(rep, size, item))

    def preflight(self) -> None:
        """Each subject converges, then converges again with no change, before any timing."""
        print(f"preflight: N={PREFLIGHT_SIZE}, create then no-op, each collection", flush=True)
        for collection in self.subjects:
            awscalls.reset_moto(self.runner.endpoint)
            for workload in ("create", "noop"):
                self.run(-1, PREFLIGHT_SIZE, workload, collection)


def schedule(
    sizes: list[int], reps: int, subjects: tuple[str, ...] = (KEYLESS, AMAZON)
) -> Iterator[tuple[int, int, list[str]]]:
    """Per repetition and size, the runs in an order that flips every time (A/B, then B/A)."""
    items = [*subjects, "ping", "set_fact", "empty"]
    turn = 0
    for rep in range(reps):
        for size in sizes:
            yield rep, size, items if turn % 2 == 0 else items[::-1]
            turn += 1


def expected_changed(run: Run) -> int:
    return {"create": 3 * run.size, "change": 1}.get(run.workload, 0)


def check_outcome(run: Run) -> None:
    """A run that did not converge as expected would make its timing meaningless."""
    wanted = expected_changed(run)
    problems = []
    if run.changed != wanted:
        problems.append(f"changed={run.changed}, expected {wanted}")
    if run.workload == "noop" and run.mutating:
        problems.append(f"{run.mutating} mutating AWS calls in a no-op converge")
    if run.workload in (*workloads.FLOORS, "empty") and run.calls:
        problems.append(f"AWS calls from a floor playbook: {run.calls}")
    if problems:
        raise RuntimeError(f"{run.collection} {run.workload} N={run.size}: {'; '.join(problems)}")


# --- main -----------------------------------------------------------------------------------


def write_outputs(out: Path, header: dict[str, Any], runs: list[Run]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summarize(runs)
    document = {"header": header, "summary": summary, "runs": [asdict(run) for run in runs]}
    (out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
    markdown = tables.markdown(header, summary)
    (out / "results.md").write_text(markdown)
    print(markdown)
    chart.draw(summary, out / "chart.png")


def check_interpreter() -> None:
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    if not ansible_playbook.exists():
        sys.exit(
            f"error: no {ansible_playbook}: run this script with the project's venv python "
            "(make venv; .venv/bin/python bench/run.py)"
        )


def command_line(args: argparse.Namespace) -> str:
    words = ["bench/run.py", "--sizes", ",".join(map(str, args.sizes)), "--reps", str(args.reps)]
    return " ".join([*words, *(["--module-path"] if args.module_path else [])])


def bench(args: argparse.Namespace, scratch: Path) -> tuple[dict[str, Any], list[Run]]:
    ensure_keyless_link()
    collections = anchor.ensure_amazon_aws(args.cache.resolve())
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(collections),
        "sizes": args.sizes,
        "reps": args.reps,
        "command": command_line(args),
    }
    server = start_aws_server(scratch / "server", preload="iam")
    try:
        runner = Runner(
            endpoint=server.url,
            workdir=scratch / "runs",
            collections_path=f"{KEYLESS_LINK.parents[2]}:{collections}",
        )
        runner.workdir.mkdir(parents=True)
        playbooks = scratch / "playbooks"
        playbooks.mkdir()
        subjects = (KEYLESS, KEYLESS_MODULE, AMAZON) if args.module_path else (KEYLESS, AMAZON)
        measured = Bench(runner, playbooks, subjects)
        measured.preflight()
        print(f"measuring: sizes {args.sizes}, {args.reps} repetition(s)", flush=True)
        measured.measure_all(args.sizes, args.reps)
    finally:
        server.stop()
    return header, measured.runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_interpreter()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="keyless-bench-") as scratch:
        header, runs = bench(args, Path(scratch))
    header["machine"]["load_at_end"] = [round(load, 2) for load in os.getloadavg()]
    header["bench_wall_s"] = round(time.monotonic() - start, 1)
    write_outputs(args.out, header, runs)
    print(f"bench wall time: {header['bench_wall_s'] / 60:.1f} min; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
