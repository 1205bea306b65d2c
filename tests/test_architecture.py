"""The shape of the package (docs/architecture.md): stages as subpackages, imports pointing down
the pipeline with no cycle (imports inside functions included), and no module over 400 lines."""

from __future__ import annotations

import importlib
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["ingest", "search", "answer", "evaluate", "serve"]
MAX_LINES = 400


def test_the_import_contracts_in_pyproject_are_kept(monkeypatch):
    """`[tool.importlinter]`: the layers (cli > ui > evaluate > library > core > lc > answer >
    search > ingest > errors, paths) and no cycle between the modules of any subpackage."""
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_module_imports_itself_back_across_the_whole_package():
    """Stronger than the per-subpackage contract: no cycle anywhere between any two modules,
    package `__init__`s aside (importing `assistant.x.y` runs `assistant/__init__` first,
    which re-exports the public names: that is not a dependency of the code)."""
    graph = grimp.build_graph("assistant", "ui", exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if not graph.find_children(m)}
    assert _cycles(graph, modules) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph, {"p.a", "p.b", "p.c"}) == [["p.a", "p.b", "p.c"]]


@pytest.mark.parametrize("folder", ["assistant", "ui", "bench"])
def test_no_source_file_over_400_lines(folder):
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / folder).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_in_two_lines_what_it_owns_and_exports_real_names(stage):
    package = importlib.import_module(f"assistant.{stage}")
    assert package.__doc__ and len(package.__doc__.strip().splitlines()) <= 2
    assert package.__all__, "a stage exports its public names"
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_top_level_holds_only_what_a_user_holds():
    """The stages are folders; at the top: the assistant, the library, the CLI, errors, paths
    and the LangChain adapters."""
    top = sorted(p.stem for p in (ROOT / "assistant").glob("*.py"))
    assert top == ["__init__", "cli", "core", "errors", "lc", "library", "paths"]
    assert sorted(p.name for p in (ROOT / "assistant").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists()) == sorted(STAGES)
