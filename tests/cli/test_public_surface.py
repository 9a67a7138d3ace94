"""The CLI uses public surfaces only: package-level names of the facade and the public packages.

Every import in ``skelloc/cli`` (module level, under ``TYPE_CHECKING`` and inside functions, read
by the layer checker of tests/test_layers.py, so dotted module strings count too) and every
``skelloc.<...>`` attribute chain must name ``skelloc`` itself, one of :data:`PUBLIC` or a module
of ``skelloc.cli``: never a module behind a package (``skelloc.io.writers``,
``skelloc.inference.api``, ``skelloc.api``, ...). There is no exception list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest
from test_layers import MODULES, PACKAGE, _existing, imports_in, module_name

#: the packages whose ``__init__`` names the CLI may use, besides the facade ``skelloc``
PUBLIC = ("skelloc.errors", "skelloc.hub", "skelloc.io", "skelloc.metrics", "skelloc.train",
          "skelloc.viz")

CLI_MODULES = sorted(module_name(p) for p in (PACKAGE / "cli").rglob("*.py"))


def allowed(module: str) -> bool:
    return module in ("skelloc", "skelloc.cli", *PUBLIC) or module.startswith("skelloc.cli.")


def _attribute_chains(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """``skelloc.a.b`` in expressions, as the longest module prefix (``import skelloc`` and
    then ``skelloc.api.default_for(...)`` reaches a module without an import naming it)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parts: list[str] = []
        inner: ast.expr = node
        while isinstance(inner, ast.Attribute):
            parts.insert(0, inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and inner.id == "skelloc":
            yield _existing(".".join(["skelloc", *parts])) or "skelloc", node.lineno


def violations(source: str, package: str = "skelloc.cli") -> list[str]:
    found = [*imports_in(source, package), *_attribute_chains(ast.parse(source))]
    return sorted({f"line {line}: {_existing(m) or m}" for m, line in found
                   if not allowed(_existing(m) or m)})


@pytest.mark.parametrize("module", CLI_MODULES)
def test_cli_uses_public_names_only(module: str) -> None:
    bad = violations(MODULES[module].read_text(encoding="utf-8"))
    assert not bad, (f"{module} reaches past the public surface ({', '.join(PUBLIC)}, the "
                     "facade skelloc):\n" + "\n".join(bad))


@pytest.mark.parametrize("source", [
    "from skelloc.io.writers import atomic_write_text",
    "import skelloc.inference.validate",
    "def f():\n    from skelloc.api import default_for\n",
    "from skelloc import api",
    "from skelloc.io import prepare",
    "from ..io import writers",
    "import skelloc\nskelloc.inference.api.output_threshold(None)",
    "importlib.import_module('skelloc.io.prepare')",
])
def test_the_check_fails_on_internal_imports(source: str) -> None:
    assert violations(source), source


def test_the_check_passes_public_names() -> None:
    source = ("import skelloc\nfrom skelloc.io import read, load_cache\n"
              "from skelloc.cli.data import expand_inputs\nfrom skelloc import Segment\n"
              "skelloc.io.read('x')\nskelloc.export_features([], 'out')\n")
    assert violations(source) == []
    assert len(CLI_MODULES) >= 7
