"""hack/mutation_score.py: the score of ``make mutation`` counts every mutant, per file and overall."""

from __future__ import annotations

import mutation_score
import pytest

UTILS = "ansible_collections.keyless.aws.plugins.module_utils"
RESULTS = f"""\
    {UTILS}._policy.x_normalize__mutmut_1: killed
    {UTILS}._policy.x_normalize__mutmut_2: survived
    {UTILS}._policy.x_normalize__mutmut_3: timeout
    {UTILS}._iam_role.xǁIamRoleǁplan__mutmut_1: killed
    {UTILS}._iam_role.xǁIamRoleǁplan__mutmut_2: no tests
    {UTILS}._iam_role.xǁIamRoleǁplan__mutmut_3: not checked
"""


def test_mutants_are_grouped_by_the_module_before_the_mangled_function():
    assert mutation_score.module_of(f"{UTILS}._iam_role.xǁIamRoleǁplan__mutmut_2") == f"{UTILS}._iam_role"
    assert mutation_score.module_of(f"{UTILS}._policy.x_normalize__mutmut_1") == f"{UTILS}._policy"
    with pytest.raises(ValueError, match="not a mutmut mutant name"):
        mutation_score.module_of("plain.name")


def test_timeouts_count_as_killed_no_tests_against_the_score_and_untried_apart():
    report = mutation_score.report(mutation_score.parse(RESULTS)).splitlines()
    assert report[1] == "  _iam_role.py                1/2    killed  50.0 %  (1 no tests, 1 not checked)"
    assert report[2] == "  _policy.py                  2/3    killed  66.7 %  (1 survived)"
    assert report[3] == (
        "  overall                     3/5    killed  60.0 %  (1 no tests, 1 not checked, 1 survived)"
    )
    assert report[4:] == [
        "not killed (2), see `mutmut show NAME` in .build/mutation:",
        f"  {UTILS}._iam_role.xǁIamRoleǁplan__mutmut_2: no tests",
        f"  {UTILS}._policy.x_normalize__mutmut_2: survived",
    ]


def test_lines_that_are_not_mutants_are_ignored():
    assert mutation_score.parse("mutmut 3.8.1\n  warning: something: odd\n") == {}


MUTATED = """\
def x_normalize__mutmut_orig(doc):
    out = dict(doc)
    return out


def x_normalize__mutmut_2(doc):
    out = dict(doc)
    return None


class IamRole:
    def xǁIamRoleǁplan__mutmut_orig(self):
        return ["CreateRole"]

    def xǁIamRoleǁplan__mutmut_2(self):
        return ["XXCreateRoleXX"]
"""


def test_each_mutant_not_killed_is_shown_with_the_lines_it_changed(tmp_path):
    for module in ("_policy", "_iam_role"):
        path = tmp_path / UTILS.replace(".", "/") / f"{module}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MUTATED, encoding="utf-8")
    sources = mutation_score.MutatedSources(tmp_path)
    assert sources.changed_lines(f"{UTILS}._policy.x_normalize__mutmut_2") == [
        "-    return out",
        "+    return None",
    ]
    assert sources.changed_lines(f"{UTILS}._iam_role.xǁIamRoleǁplan__mutmut_2") == [
        '-        return ["CreateRole"]',
        '+        return ["XXCreateRoleXX"]',
    ]
    assert sources.changed_lines(f"{UTILS}._policy.x_normalize__mutmut_9") == [
        f"(no source for x_normalize__mutmut_9 in {UTILS}._policy)"
    ]
    report = mutation_score.report(mutation_score.parse(RESULTS), sources.changed_lines).splitlines()
    assert report[5:] == [
        f"  {UTILS}._iam_role.xǁIamRoleǁplan__mutmut_2: no tests",
        '      -        return ["CreateRole"]',
        '      +        return ["XXCreateRoleXX"]',
        f"  {UTILS}._policy.x_normalize__mutmut_2: survived",
        "      -    return out",
        "      +    return None",
    ]
