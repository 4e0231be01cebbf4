"""The package's layout is its pipeline: each room imports only rooms above it, and no module
imports itself back through others. Imports inside functions count (a lazy import is still
a dependency), so the cycles this replaces cannot come back."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "recdsl"

#: The rooms in pipeline order; a module may import its own room and the ones before it. The op
#: registry comes before the language: it is the language's vocabulary (the YAML form reads
#: each op's argument kinds from it), and it imports nothing of the language.
ROOMS = ("errors", "ops", "lang", "checker", "graph", "diagram", "review", "lsp", "layers", "emitter", "buildfolder",
         "data", "training", "serving", "demo", "api", "cli", "main")
#: recdsl/__init__.py is the public API (its imports are lazy); the CLI calls it; __main__ runs the CLI.
SPECIAL = {"recdsl": "api", "recdsl.__main__": "main"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every recdsl module `path` imports, anywhere in the file."""
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in found if m == "recdsl" or m.startswith("recdsl.")}


def _graph() -> nx.DiGraph:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for module, path in files.items():
        graph.add_node(module)
        for target in _imports(path):
            if target in files and target != module:
                graph.add_edge(module, target)
    return graph


def _room(module: str) -> str:
    return SPECIAL.get(module) or module.split(".")[1]


def test_every_module_is_in_a_room():
    rooms = {_room(m) for m in _graph()}
    assert rooms <= set(ROOMS), f"place these in ROOMS: {sorted(rooms - set(ROOMS))}"


def test_no_module_imports_one_further_down_the_pipeline():
    wrong = []
    for module, target in _graph().edges:
        if ROOMS.index(_room(target)) > ROOMS.index(_room(module)):
            wrong.append(f"{module} -> {target}")
    assert not wrong, "imports pointing down the pipeline:\n" + "\n".join(sorted(wrong))


def test_no_import_cycle():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles)


def test_the_checker_of_this_test_sees_lazy_imports():
    """A lazy import inside a function counts as a dependency."""
    path = PACKAGE / "emitter.py"
    assert "recdsl.layers.embedding" in _imports(path)


def test_only_the_cli_prints_or_exits():
    """Library code raises and returns; printing and exit codes belong to recdsl/cli/."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("cli/") or rel == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in ("print", "exit") or (name == "write" and "stdout" in ast.unparse(node.func)):
                    found.append(f"recdsl/{rel}:{node.lineno}: {ast.unparse(node.func)}")
    assert not found, "\n".join(found)
