"""The package's layers only point down, and no module imports itself back through others.

Every import in the package is read with `ast` (those inside functions too, which is where a
cycle likes to hide), so the contract holds for what runs, not only for what loads first.
docs/ARCHITECTURE.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "emotion_ros"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# Bottom to top: a module may import its own layer's modules and those of any layer below.
LAYERS = (
    ("paths", "config_schema"),  # where files are; typed config from YAML
    ("io",),  # messages and files -> arrays
    ("samples",),  # sample media made from what the packages ship
    ("window",),  # arrays -> time-aligned windows
    ("model",),  # the network, its parts and checkpoints
    ("artefacts",),  # ONNX graphs and TensorRT engines of a checkpoint
    ("runtime",),  # backends and the estimator: window -> estimate
    ("default_model",),  # the default checkpoint's build
    ("train",),  # MMEVerse training
    ("eval",),  # metrics and benchmarks
    ("export",),  # checkpoint -> checked artefacts
    ("behaviours",),  # py_trees behaviours on emotion messages
    ("nodes",),  # ROS 2 nodes: thin shells
    ("commands",),  # the command-line commands
    ("cli", "__main__"),  # `emotion-ros`
)


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """The package modules one file imports (absolute or relative; anywhere in the file)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import module` imports a module; `from module import name` its module.
            found.update(f"{target}.{alias.name}" for alias in node.names)
            found.add(target)
    return {m for m in found if m == root.name or m.startswith(root.name + ".")}


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the package modules it imports (names that are not modules are dropped)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {name: {m for m in imports_of(path, root) if m in files and m != name} for name, path in files.items()}


def layer_of(module: str, layers=LAYERS) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, members in enumerate(layers):
        if top in members:
            return index
    raise KeyError(f"{module} is in no layer: add its package to LAYERS (and to docs/ARCHITECTURE.md)")


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() if "." in a for b in targets
                  if "." in b and layer_of(b, layers) > layer_of(a, layers))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles, one per strongly connected component of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_package_has_a_layer():
    for path in ROOT.iterdir():
        if path.is_dir() and (path / "__init__.py").is_file() or path.suffix == ".py" and path.stem != "__init__":
            layer_of(f"{PACKAGE}.{path.stem}")


def test_layers_only_point_down():
    assert upward_imports(import_graph(ROOT)) == []


def test_no_import_cycles():
    assert cycles(import_graph(ROOT)) == []


@pytest.fixture
def leaning_package(tmp_path) -> Path:
    """A package whose model imports the runtime (upward) and whose two model modules import
    each other (one inside a function)."""
    root = tmp_path / PACKAGE
    for package in ("", "model", "runtime"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "model" / "vision.py").write_text("from emotion_ros.model.fer import Fer\n")
    (root / "model" / "fer.py").write_text("def build():\n    from .vision import Vit\n")
    (root / "model" / "net.py").write_text("from emotion_ros.runtime import backend\n")
    (root / "runtime" / "backend.py").write_text("from emotion_ros.model import net\n")
    return root


def test_the_checks_catch_an_upward_import_and_a_cycle(leaning_package):
    graph = import_graph(leaning_package)
    assert upward_imports(graph) == ["emotion_ros.model.net -> emotion_ros.runtime",
                                     "emotion_ros.model.net -> emotion_ros.runtime.backend"]
    assert sorted(cycles(graph)) == [["emotion_ros.model.fer", "emotion_ros.model.vision"],
                                     ["emotion_ros.model.net", "emotion_ros.runtime.backend"]]


def test_the_docs_name_every_layer():
    """README's layout and docs/ARCHITECTURE.md's layer table follow the tree."""
    readme = (ROOT.parent / "README.md").read_text()
    layout = readme[readme.index("## Repository layout"):readme.index("## Tests")]
    architecture = (ROOT.parent / "docs" / "ARCHITECTURE.md").read_text()
    packages = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
    for package in packages:
        assert f"  {package}/ " in layout, f"README's layout does not list {package}/"
    for members in LAYERS:
        for name in members:
            written = f"`{name}/`" if name in packages else f"`{name}`"
            assert written in architecture, f"docs/ARCHITECTURE.md does not name the layer {written}"
