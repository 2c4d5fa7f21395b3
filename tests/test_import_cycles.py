"""No module of ``core`` or ``integrations`` imports, even lazily inside a function, a module that
imports it back: a deferred import that only hides a cycle fails here, with the cycle named."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("core", "integrations"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from package import module`` depends on that module; ``from module import name`` on the module.
                submodules = [f"{node.module}.{alias.name}" for alias in node.names
                              if f"{node.module}.{alias.name}" in modules]
                targets = submodules if len(submodules) == len(node.names) else [node.module, *submodules]
            else:
                continue
            # A module's own packages are imported before it, by Python itself: not a dependency it chose.
            graph[name] |= {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, the first repeated at the end), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_module_imports_itself_back():
    cycle = _a_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_check_finds_a_cycle():
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": set()}) is None


#: ``core`` in layers, lowest first: a module may import its own layer and the layers below it, never
#: one above. The order is the story of a ticket: shapes, text, storage, dispatch, access, models,
#: labels, imports, learning, suggestions, helpdesks, autonomy (which answers through them), the side
#: panel and the in-app widget, background entry points, and last the surfaces (web, commands, demo).
#: Old job paths kept as shims sit on top.
LAYERS: list[set[str]] = [
    {"core", "core.types", "core.clock", "core.errors", "core.config", "core.events", "core.logs", "core.metrics"},
    {"core.text"},
    {"core.store", "core.runtime"},
    {"core.dispatch"},
    {"core.access"},
    {"core.ml"},
    {"core.labelling"},
    {"core.ingest"},
    {"core.learning"},
    {"core.suggesting"},
    {"core.helpdesk"},
    {"core.autonomy"},
    {"core.insights"},
    {"core.notify"},
    {"core.panel", "core.widget"},
    {"core.background"},
    {"core.web", "core.app"},
    {"core.commands", "core.demo"},
    {"core.cli", "core.tasks", "core.helpdesk_events", "core.write_back", "core.listeners"},
    {"integrations"},
]


def _layer_of(module: str) -> int:
    parts = module.split(".")
    for depth in (2, 1):
        name = ".".join(parts[:depth])
        for index, layer in enumerate(LAYERS):
            if name in layer:
                return index
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{name} -> {target}" for name, targets in graph.items() for target in targets
                  if _layer_of(target) > _layer_of(name))


def test_no_package_imports_a_layer_above_it():
    upward = _upward_imports(_graph())
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_layer_check_finds_an_upward_import():
    assert _upward_imports({"core.ml.model": {"core.learning.training"}}) == [
        "core.ml.model -> core.learning.training"]
    assert _upward_imports({"core.learning.training": {"core.ml.model"}}) == []
