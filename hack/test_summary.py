"""Print the closing table of ``make test`` and its last line, ``summary: N passed, N failed, N skipped``.

Usage: ``python hack/test_summary.py REPORTS_DIR LEG=STATUS:SECONDS[:WHY]... total:SECONDS``

STATUS is ``ok``, ``FAILED`` or ``skipped`` (the leg could not run here; WHY says why).

Counts come from the JUnit files the legs leave in REPORTS_DIR:

* ``<leg>.xml`` (pytest): one count per test case.
* ``<leg>/`` (ansible-test sanity, one file per sanity test): one count per sanity test, failed
  when any of its cases failed, skipped when all of them were skipped.

Legs run with an AWS server on a bad day (``--bad-day``, sandbox/bad_day.py) leave
``bad-day/<leg>-<worker>.json``: the table is followed by the faults injected, by leg and kind.

Lint and coverage leave no test report and count as one check each; the coverage row also shows the
branch coverage figure ``make coverage`` wrote to ``coverage-total.txt``. Any other leg that leaves
no report did not run its tests: like a leg that could not run (no Python 3.12), it counts as one
skipped check, named in the table, so "0 skipped" never hides a missing leg. Under ``CI=true`` a
missing leg is a failure instead, and the exit status is 1. A leg whose make target failed but
whose report shows no failure (it broke before or outside its tests) adds one failure, so the last
line never says "0 failed" for a run that exits non-zero.
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

# Legs that check without a test report of their own.
REPORTLESS = frozenset({"lint", "coverage"})
# What `make coverage` leaves: the total branch coverage of plugins/, in percent.
COVERAGE_TOTAL = "coverage-total.txt"


def case_outcome(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    if case.find("skipped") is not None:
        return "skipped"
    return "passed"


def file_cases(path: Path) -> list[str]:
    return [case_outcome(case) for case in ET.parse(path).getroot().iter("testcase")]


def report_counts(reports: Path, leg: str) -> Counter[str] | None:
    """Outcome counts for a leg, or None when it left no report."""
    name = leg if leg.endswith("-py312") else f"{leg}-py311"
    single = reports / f"{name}.xml"
    if single.is_file():
        return Counter(file_cases(single))
    directory = reports / name
    if directory.is_dir():
        counts: Counter[str] = Counter()
        for path in sorted(directory.glob("*.xml")):
            outcomes = set(file_cases(path)) or {"passed"}
            if "failed" in outcomes:
                counts["failed"] += 1
            elif outcomes == {"skipped"}:
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
        return counts
    return None


def leg_row(reports: Path, leg: str, status: str, why: str, in_ci: bool) -> tuple[Counter[str], str]:
    """The outcome counts of one leg and the detail its row shows."""
    counts = report_counts(reports, leg) if status != "skipped" else None
    if counts is None and leg in REPORTLESS:
        detail = "1 check"
        total = reports / COVERAGE_TOTAL
        if leg == "coverage" and total.is_file():
            detail += f", branch coverage of plugins/ {total.read_text().strip()} %"
        return Counter({"passed" if status == "ok" else "failed": 1}), detail
    if counts is None and status != "FAILED":
        why = why or "it left no test report"
        if in_ci:
            return Counter({"failed": 1}), f"MISSING: not run ({why}); CI=true needs every leg"
        return Counter({"skipped": 1}), f"not run ({why})"
    counts = counts or Counter()
    detail = ", ".join(f"{counts[key]} {key}" for key in ("passed", "failed", "skipped"))
    if status == "FAILED" and not counts["failed"]:
        counts["failed"] += 1
        detail += " (+1: the leg itself failed)"
    return counts, detail


def bad_day_lines(reports: Path) -> list[str]:
    """One line per leg that ran on a bad day: its spec and the faults injected, by kind."""
    legs: dict[str, tuple[set[str], Counter[str]]] = {}
    for path in sorted((reports / "bad-day").glob("*.json")):
        leg = path.stem.rsplit("-", 1)[0]
        specs, faults = legs.setdefault(leg, (set(), Counter()))
        for server in json.loads(path.read_text()).values():
            specs.add(server["spec"])
            faults.update(server["faults"])
    lines = []
    for leg, (specs, faults) in legs.items():
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(faults.items())) or "none"
        lines.append(f"  {leg:<18} faults injected: {kinds} ({sum(faults.values())} in all)")
        lines.extend(f"  {'':<18} spec: {spec}" for spec in sorted(specs))
    return lines


def main(argv: list[str], in_ci: bool = False) -> int:
    reports = Path(argv[0])
    total_seconds = "?"
    rows = []
    overall: Counter[str] = Counter()
    missing = []
    for arg in argv[1:]:
        if arg.startswith("total:"):
            total_seconds = arg.removeprefix("total:")
            continue
        leg, rest = arg.split("=", 1)
        status, seconds, *why = rest.split(":", 2)
        counts, detail = leg_row(reports, leg, status, "".join(why), in_ci)
        if detail.startswith("MISSING"):
            missing.append(leg)
        overall += counts
        rows.append(f"  {leg:<18} {status:<8} {seconds:>5}s  {detail}")
    print("==== test summary")
    print("\n".join(rows))
    print(f"  total time {total_seconds}s")
    faults = bad_day_lines(reports)
    if faults:
        print("==== AWS on a bad day (sandbox/bad_day.py)")
        print("\n".join(faults))
    if missing:
        print(f"  missing under CI=true: {', '.join(missing)}")
    print(f"summary: {overall['passed']} passed, {overall['failed']} failed, {overall['skipped']} skipped")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], in_ci=os.environ.get("CI", "").lower() == "true"))
