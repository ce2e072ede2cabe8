"""hack/test_summary.py: the closing table of ``make test`` never hides a leg that did not run."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_summary as summary

CASES = {"passed": "", "failed": "<failure/>", "skipped": "<skipped/>"}


def write_report(reports: Path, name: str, **outcomes: int) -> None:
    cases = "".join(
        f'<testcase name="{outcome}{index}">{CASES[outcome]}</testcase>'
        for outcome, count in outcomes.items()
        for index in range(count)
    )
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{name}.xml").write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.splitlines()[-1]


def test_a_leg_without_python_312_counts_as_skipped_by_name(tmp_path, capsys):
    write_report(tmp_path, "unit-py311", passed=3)
    legs = ["lint=ok:5", "unit=ok:9", "unit-py312=skipped:0:no Python 3.12", "total:14"]
    rc = summary.main([str(tmp_path), *legs])
    out = capsys.readouterr().out
    assert rc == 0
    assert "  unit-py312         skipped      0s  not run (no Python 3.12)" in out.splitlines()
    assert out.splitlines()[-1] == "summary: 4 passed, 0 failed, 1 skipped"


def test_a_leg_that_left_no_report_is_not_counted_as_passed(tmp_path, capsys):
    write_report(tmp_path, "unit-py311", passed=2)
    rc = summary.main([str(tmp_path), "unit=ok:9", "molecule=ok:1", "total:10"])
    assert rc == 0
    assert last_line(capsys) == "summary: 2 passed, 0 failed, 1 skipped"


def test_under_ci_a_missing_leg_fails_the_run(tmp_path, capsys):
    write_report(tmp_path, "unit-py311", passed=2)
    rc = summary.main(
        [str(tmp_path), "unit=ok:9", "molecule=ok:1", "unit-py312=skipped:0:no Python 3.12", "total:10"],
        in_ci=True,
    )
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert "  missing under CI=true: molecule, unit-py312" in out
    assert out[-1] == "summary: 2 passed, 2 failed, 0 skipped"


def test_under_ci_a_complete_run_passes(tmp_path, capsys):
    write_report(tmp_path, "unit-py311", passed=2, skipped=1)
    write_report(tmp_path, "unit-py312", passed=2, skipped=1)
    rc = summary.main([str(tmp_path), "lint=ok:3", "unit=ok:9", "unit-py312=ok:9", "total:21"], in_ci=True)
    assert rc == 0
    assert last_line(capsys) == "summary: 5 passed, 0 failed, 2 skipped"


def test_a_failed_leg_without_a_failed_case_adds_one_failure(tmp_path, capsys):
    write_report(tmp_path, "e2e-py311", passed=1)
    rc = summary.main([str(tmp_path), "e2e=FAILED:30", "total:30"], in_ci=True)
    assert rc == 0  # the leg's own failure already fails make test
    assert last_line(capsys) == "summary: 1 passed, 1 failed, 0 skipped"


def test_the_coverage_leg_is_one_check_that_shows_the_figure(tmp_path, capsys):
    write_report(tmp_path, "unit-py311", passed=2)
    (tmp_path / "coverage-total.txt").write_text("95.4\n")
    rc = summary.main([str(tmp_path), "unit=ok:9", "coverage=FAILED:2", "total:11"], in_ci=True)
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    assert "  coverage           FAILED       2s  1 check, branch coverage of plugins/ 95.4 %" in out
    assert out[-1] == "summary: 2 passed, 1 failed, 0 skipped"
