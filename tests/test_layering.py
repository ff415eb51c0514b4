"""Dependencies point one way, geo ← dispatch ← {simulator, loadtests, benchmarks}, and no module imports itself
back through others. Read from the source (an AST walk over every module's imports, wherever they stand), so a
violation fails here before any import runs; ruff's PLC0415 keeps the imports at the top of each module."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "dispatch", "simulator", "loadtests", "benchmarks")
# What each package must not import. Layers above dispatch may use each other, never the reverse of the arrow.
FORBIDDEN = {
    "geo": {"dispatch", "simulator", "loadtests", "benchmarks", "tests"},
    "dispatch": {"simulator", "loadtests", "benchmarks", "tests"},
    "simulator": {"loadtests", "benchmarks", "tests"},
    "loadtests": {"simulator", "benchmarks", "tests"},
    "benchmarks": set(),  # the top; geocode_eval reads its cases from tests/ (a checkout tool)
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(module imported, line, at the top level) for every import in the file; `from a import b` counts as a.b
    when a.b is a module."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found += [(t, node.lineno, id(node) in top) for t in targets]
    return found


def test_each_layer_imports_only_the_layers_below_it():
    known = modules()
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in known.items()
        for target, line, _ in imports(name, path, known)
        if target.split(".")[0] in FORBIDDEN[name.split(".")[0]]
    ]
    assert violations == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
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
    return found


def test_no_import_cycles_between_modules():
    known = modules()
    graph = {
        name: {target for target, _, top in imports(name, path, known) if top and target in known and target != name}
        for name, path in known.items()
    }
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycles_are_found(graph, expected):
    assert cycles(graph) == expected


def test_a_violation_is_caught(tmp_path):
    """The walk sees an import hidden in a function, as the lazy imports that once pointed dispatch at the
    simulator were."""
    source = tmp_path / "dispatch" / "sneaky.py"
    source.parent.mkdir()
    source.write_text("def f():\n    from simulator.loads import LOADS\n    return LOADS\n")
    found = imports("dispatch.sneaky", source, {})
    assert found == [("simulator.loads", 2, False)]
    assert "simulator" in FORBIDDEN["dispatch"]
