"""The package's shape: no import cycles between modules, no source file over 500 lines."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        name = ".".join(p.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def imports(tree: ast.Module):
    """Every import statement of a module, in functions too, except under ``if TYPE_CHECKING:``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = [ast.Pass()]
    yield from ast.walk(tree)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports (a package's own submodules left out)."""
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in imports(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[m] |= {t for t in targets if t in mods and t != m and not t.startswith(m + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(u: str, path: list[str]) -> list[str] | None:
        state[u] = 1
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return path[path.index(v) :] + [v]
            if not state.get(v) and (found := visit(v, path + [v])):
                return found
        state[u] = 2
        return None

    for m in sorted(graph):
        if not state.get(m) and (found := visit(m, [m])):
            return found
    return None


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_the_config_package_imports_no_model():
    """aae.config knows the model families only through the registry that aae.models fills
    (FAMILY_TABLES): adding a family edits no file of aae.config."""
    graph = import_graph()
    config = [m for m in graph if m == "aae.config" or m.startswith("aae.config.")]
    assert config and not [(m, t) for m in config for t in graph[m] if t.startswith("aae.models")]


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_source_file_over_500_lines():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not long
