"""Print the closing table of ``make test`` and its last line, ``summary: N passed, N failed, N skipped``.

Usage: ``python hack/test_summary.py REPORTS_DIR LEG=STATUS:SECONDS... total:SECONDS``

Counts come from the JUnit files the legs leave in REPORTS_DIR:

* ``<leg>.xml`` (pytest): one count per test case.
* ``<leg>/`` (ansible-test sanity, one file per sanity test): one count per sanity test, failed
  when any of its cases failed, skipped when all of them were skipped.

A leg without a report (lint) counts as one check. A leg whose make target failed but whose
report shows no failure (it broke before or outside its tests) adds one failure, so the last
line never says "0 failed" for a run that exits non-zero.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path


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


def main(argv: list[str]) -> int:
    reports = Path(argv[0])
    total_seconds = "?"
    rows = []
    overall: Counter[str] = Counter()
    for arg in argv[1:]:
        if arg.startswith("total:"):
            total_seconds = arg.removeprefix("total:")
            continue
        leg, rest = arg.split("=", 1)
        status, seconds = rest.split(":", 1)
        counts = report_counts(reports, leg) if status != "skipped" else Counter()
        if status == "skipped":
            detail = "not run"
        elif counts is None:
            counts = Counter({"passed" if status == "ok" else "failed": 1})
            detail = "1 check"
        else:
            detail = ", ".join(f"{counts[key]} {key}" for key in ("passed", "failed", "skipped"))
        if status == "FAILED" and not counts["failed"]:
            counts["failed"] += 1
            detail += " (+1: the leg itself failed)"
        overall += counts
        rows.append(f"  {leg:<18} {status:<8} {seconds:>5}s  {detail}")
    print("==== test summary")
    print("\n".join(rows))
    print(f"  total time {total_seconds}s")
    print(f"summary: {overall['passed']} passed, {overall['failed']} failed, {overall['skipped']} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
