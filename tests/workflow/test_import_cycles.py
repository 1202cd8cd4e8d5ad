"""No import cycle among the packages of src/saegeom (``saegeom.metrics``, ``saegeom.settings``, ...), counting
imports inside functions too (a lazy import hides a cycle from Python, not from a reader). Layers: vocabulary
and utils at the bottom, then io/settings/metrics, the domain packages, ``saegeom.rules``, ``saegeom.workflow``."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = SRC / "saegeom") -> dict[str, set[str]]:
    """{module: saegeom modules it imports anywhere in its body}; ``from pkg import name`` counts as an import
    of ``pkg.name`` when that is a module, else of ``pkg``."""
    files = {_module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = mod if is_pkg else mod.rsplit(".", 1)[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rsplit(".", 1)[0]
                    base = f"{pkg}.{base}" if base else pkg
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:  # `import saegeom.x.y` of a name: its module
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "saegeom.sae.load" in graph["saegeom.rules.compare"]  # imported inside functions only


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``graph`` with every module collapsed into its package below saegeom (``saegeom.metrics.shape`` →
    ``saegeom.metrics``); edges inside a package dropped."""

    def top(m: str) -> str:
        return ".".join(m.split(".")[:2])

    out: dict[str, set[str]] = {top(m): set() for m in graph}
    for m, targets in graph.items():
        out[top(m)] |= {top(t) for t in targets if top(t) != top(m)}
    return out


def test_packages_collapse_as_documented():
    g = package_graph({"saegeom.a.x": {"saegeom.a.y", "saegeom.b"}, "saegeom.a.y": set(), "saegeom.b": {"saegeom.a.x"}})
    assert g == {"saegeom.a": {"saegeom.b"}, "saegeom.b": {"saegeom.a"}}
    assert find_cycle(g) is not None


def test_no_import_cycle_between_saegeom_packages():
    assert find_cycle(package_graph(import_graph())) is None
