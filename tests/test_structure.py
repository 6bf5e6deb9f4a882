"""The backend imports one way and holds one idea per file (issue 16): no import circle among
its modules' top-level imports, and no file over 300 lines outside generated code."""

from __future__ import annotations

import ast
from pathlib import Path

from blocklab.graph import topology

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"


def _modules() -> dict[str, Path]:
    out = {}
    for f in (BACKEND / "blocklab").rglob("*.py"):
        parts = f.relative_to(BACKEND).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the blocklab modules its top-level statements import (imports inside
    functions are deliberate deferrals and do not count)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        for node in ast.parse(f.read_text()).body:
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` imports the submodule sub, not a name of pkg's own.
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in mods]
                targets = subs if len(subs) == len(node.names) else [node.module, *subs]
            else:
                continue
            graph[m] |= {t for t in targets if t in mods and t != m}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, round (graph.topology's cycle finder:
    the same strongly connected groups whichever way the edges point)."""
    return [sorted(group) for _, group in topology.cycles(list(graph), {m: sorted(t) for m, t in graph.items()})]


def test_the_checker_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_backend():
    graph = import_graph()
    assert "blocklab.runs.manager" in graph and graph["blocklab.runs.manager"]
    assert circles(graph) == []


def test_no_backend_or_bench_file_over_300_lines():
    files = [*(BACKEND / "blocklab").rglob("*.py"), *(ROOT / "bench").glob("*.py")]
    long = {str(f.relative_to(ROOT)): n for f in files if (n := len(f.read_text().splitlines())) > 300}
    assert long == {}
