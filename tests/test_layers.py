"""The layer order of docs/ARCHITECTURE.md, enforced on every import in the package.

Every ``import`` and ``from ... import`` statement is read, at module level, under
``TYPE_CHECKING`` and inside functions alike, and so is every string naming a skelloc module
(lazy ``__getattr__`` tables, registries importing by dotted name). A module may import its own
package and any package of a lower layer, nothing else; modules of one layer do not import
each other. There is no exception list. Inside a package the imports between modules form no
cycle either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import skelloc

PACKAGE = Path(skelloc.__file__).parent

#: lowest first; each layer may import only the layers above it in this list (and itself)
LAYERS: list[tuple[str, ...]] = [
    ("skelloc.errors", "skelloc._version", "skelloc._lazy"),
    ("skelloc._atomic", "skelloc.model_config"),
    ("skelloc.skeleton",),
    ("skelloc.inference",),
    ("skelloc.io",),
    ("skelloc.metrics",),
    ("skelloc.models",),
    ("skelloc.hub",),
    ("skelloc.api",),  # the public functions (name resolution)
    ("skelloc.features",),  # the feature-export pipeline (skelloc extract, train features)
    ("skelloc",),  # the public facade
    ("skelloc.train", "skelloc.viz"),
    ("skelloc.cli",),
    ("skelloc.__main__",),
]

UNITS = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def unit_of(module: str) -> str:
    """The layer unit a module belongs to: the longest listed prefix."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in UNITS:
            return candidate
    raise AssertionError(f"{module} is in no layer; add it to LAYERS and docs/ARCHITECTURE.md")


def _existing(name: str) -> str | None:
    """``name`` if it is a skelloc module, else its longest prefix that is (``pkg.attr``)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in MODULES:
            return candidate
    return None


def imports(module: str) -> Iterator[tuple[str, int]]:
    """``(imported skelloc module, line)`` for every import in ``module``'s source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> Iterator[tuple[str, int]]:
    """``(imported skelloc module, line)`` for every import in ``source``, a module of
    ``package`` (for relative imports)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "skelloc":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "skelloc":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield (sub if sub in MODULES else source), node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.split(":")[0]
            if text.startswith("skelloc.") and " " not in text and _existing(text) == text:
                yield text, node.lineno


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        unit_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layer_order(module: str) -> None:
    unit = unit_of(module)
    bad = []
    for target, line in imports(module):
        target = _existing(target) or target
        other = unit_of(target)
        if other != unit and UNITS[other] >= UNITS[unit]:
            bad.append(f"line {line}: {target} (layer {UNITS[other]}) from layer {UNITS[unit]}")
    assert not bad, f"{module} imports against the layer order:\n" + "\n".join(bad)


def test_no_import_cycles_inside_a_package() -> None:
    graph = {
        m: {_existing(t) or t for t, _ in imports(m)} - {m}
        for m in MODULES
    }
    # a package's lazy table naming its own modules is not a dependency of those modules
    for m, targets in graph.items():
        graph[m] = {t for t in targets if not (MODULES[m].name == "__init__.py"
                                               and t.startswith(m + "."))}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The reader finds function-level, TYPE_CHECKING, relative and string imports."""
    assert ("skelloc.models.fuse", 1) in {
        (t, 1) for t, _ in imports("skelloc.models.localizer")
    }  # imported inside Localizer.inference_form
    assert "skelloc.hub.api" in {t for t, _ in imports("skelloc")}  # the lazy table
    assert unit_of("skelloc.hub.convert.core") == "skelloc.hub"
    assert UNITS["skelloc.models"] > UNITS["skelloc.inference"]
