"""Print the mutation score of ``make mutation``: mutants killed out of all mutants, per file and overall.

Usage: ``python hack/mutation_score.py`` in the directory mutmut ran in (``.build/mutation``).

It reads ``mutmut results --all true``, one ``<module>.<mangled function>__mutmut_<n>: <status>``
line per mutant. A mutant counts as killed when a test failed on it (``killed``) or it made the
tests run past their timeout (``timeout``: a mutant that hangs is caught too). Every other status
counts against the score: ``survived``, and ``no tests`` (no unit test reaches the mutated code),
except ``not checked``: a run stopped early left those untried, so they are shown apart and left
out of the score. The mutants not killed are listed by name, each with the lines it changed.

Those lines come from the mutated sources under ``mutants/``, read once (``mutmut show NAME`` prints
the same but starts mutmut for each mutant, seconds apiece): mutmut keeps every mutant of a function
as a function of its own (``<function>__mutmut_<n>``) beside the original
(``<function>__mutmut_orig``), so the diff of the two bodies is the mutation.
"""

from __future__ import annotations

import ast
import difflib
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

CAUGHT = frozenset({"killed", "timeout"})
UNTRIED = "not checked"


def split_name(mutant: str) -> tuple[str, str]:
    """``pkg.module.x_func__mutmut_3`` -> (``pkg.module``, ``x_func__mutmut_3``): the module is the
    dotted name before the mangled function (``x_`` or, for a method, ``xǁClassǁ``)."""
    parts = mutant.split(".")
    for index in range(len(parts) - 1, 0, -1):
        if parts[index].startswith(("x_", "xǁ")):
            return ".".join(parts[:index]), ".".join(parts[index:])
    raise ValueError(f"not a mutmut mutant name: {mutant!r}")


def module_of(mutant: str) -> str:
    """The module a mutant belongs to."""
    return split_name(mutant)[0]


class MutatedSources:
    """The functions of the mutated modules under ``root`` (mutmut's ``mutants/``), parsed once each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parsed: dict[str, dict[str, list[str]]] = {}

    def functions(self, module: str) -> dict[str, list[str]]:
        """Every function of a module (methods included) by name -> the lines of its body."""
        if module not in self.parsed:
            source = (self.root / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
            lines = source.splitlines()
            self.parsed[module] = {
                node.name: lines[node.lineno : node.end_lineno]
                for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
        return self.parsed[module]

    def changed_lines(self, mutant: str) -> list[str]:
        """The lines the mutant removed (``-``) and added (``+``)."""
        module, function = split_name(mutant)
        bodies = self.functions(module)
        mutated = bodies.get(function)
        original = bodies.get(f"{function.split('__mutmut_', maxsplit=1)[0]}__mutmut_orig")
        if mutated is None or original is None:
            return [f"(no source for {function} in {module})"]
        diff = difflib.unified_diff(original, mutated, lineterm="", n=0)
        return [line for line in diff if not line.startswith(("---", "+++", "@@"))]


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


def report(statuses: dict[str, str], show: Callable[[str], list[str]] | None = None) -> str:
    """The score per file and overall, then every mutant not killed (with ``show(name)``'s lines)."""
    per_module, overall = score(statuses)
    lines = ["==== mutation score (killed or timed out / mutants tried)"]
    lines += [row(module.rpartition(".")[2] + ".py", per_module[module]) for module in sorted(per_module)]
    lines.append(row("overall", overall))
    survivors = sorted(name for name, status in statuses.items() if status not in CAUGHT | {UNTRIED})
    if survivors:
        lines.append(f"not killed ({len(survivors)}), see `mutmut show NAME` in .build/mutation:")
        for name in survivors:
            lines.append(f"  {name}: {statuses[name]}")
            lines += [f"      {line}" for line in (show(name) if show else [])]
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
    print(report(statuses, MutatedSources(Path("mutants")).changed_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
