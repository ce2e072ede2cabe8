"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse the way ansible-doc reads them.

ansible-lint and sanity catch a broken block too, but minutes later; a plain ``: `` inside a
multi-line description item is enough to make a module undocumented.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.parsing.plugin_docs import read_docstring

MODULES = Path(__file__).resolve().parents[4] / "plugins" / "modules"


@pytest.mark.parametrize("path", sorted(MODULES.glob("[!_]*.py")), ids=lambda path: path.stem)
def test_module_docs_parse_as_ansible_doc_reads_them(path: Path) -> None:
    data = read_docstring(str(path))
    # read_docstring warns and returns None for a block that is not YAML.
    assert data["doc"] is not None, f"{path.name}: DOCUMENTATION is not YAML"
    assert data["doc"]["module"] == path.stem
    assert data["doc"]["description"]
    assert data["plainexamples"].strip()
    assert isinstance(data["returndocs"], dict)
