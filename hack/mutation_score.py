"""Print the mutation score of ``make mutation``: mutants killed out of all mutants, per file and overall.

Usage: ``python hack/mutation_score.py`` in the directory mutmut ran in (``.build/mutation``).

It reads ``mutmut results --all true``, one ``<module>.<mangled function>__mutmut_<n>: <status>``
line per mutant. A mutant counts as killed when a test failed on it (``killed``) or it made the
tests run past their timeout (``timeout``: a mutant that hangs is caught too). Every other status
counts against the score: ``survived``, and ``no tests`` (no unit test reaches the mutated code),
except ``not checked``: a run stopped early left those untried, so they are shown apart and left
out of the score. The mutants not killed are listed by name, for ``mutmut show NAME``.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

CAUGHT = frozenset({"killed", "timeout"})
UNTRIED = "not checked"


def module_of(mutant: str) -> str:
    """The module a mutant belongs to: the dotted name before its mangled function (``x_`` or ``xǁ``)."""
    parts = mutant.split(".")
    for index in range(len(parts) - 1, 0, -1):
        if parts[index].startswith(("x_", "xǁ")):
            return ".".join(parts[:index])
    raise ValueError(f"not a mutmut mutant name: {mutant!r}")


def parse(results: str) -> dict[str, str]:
    """Mutant name -> status, from the output of ``mutmut results --all true``."""
    statuses = {}
    for line in results.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


def score(statuses: dict[str, str]) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Status counts per module and overall."""
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        per_module[module_of(name)][status] += 1
    overall: Counter[str] = Counter()
    for counts in per_module.values():
        overall += counts
    return dict(per_module), overall


def row(label: str, counts: Counter[str]) -> str:
    caught = sum(counts[status] for status in CAUGHT)
    total = sum(counts.values()) - counts[UNTRIED]
    percent = 100 * caught / total if total else 0.0
    others = ", ".join(f"{counts[status]} {status}" for status in sorted(counts) if status not in CAUGHT)
    line = f"  {label:<24} {caught:>4}/{total:<4} killed {percent:5.1f} %"
    return f"{line}  ({others})" if others else line


def report(statuses: dict[str, str]) -> str:
    per_module, overall = score(statuses)
    lines = ["==== mutation score (killed or timed out / mutants tried)"]
    lines += [row(module.rpartition(".")[2] + ".py", per_module[module]) for module in sorted(per_module)]
    lines.append(row("overall", overall))
    survivors = sorted(name for name, status in statuses.items() if status not in CAUGHT | {UNTRIED})
    if survivors:
        lines.append(f"not killed ({len(survivors)}), see `mutmut show NAME` in .build/mutation:")
        lines += [f"  {name}: {statuses[name]}" for name in survivors]
    return "\n".join(lines)


def main() -> int:
    mutmut = Path(sys.executable).parent / "mutmut"
    results = subprocess.run(
        [str(mutmut), "results", "--all", "true"], check=True, capture_output=True, text=True
    ).stdout
    statuses = parse(results)
    if not statuses:
        print("error: mutmut reported no mutants (did `mutmut run` run here?)", file=sys.stderr)
        return 1
    print(report(statuses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
