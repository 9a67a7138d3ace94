"""Lazy public names for package ``__init__`` files (PEP 562), written once.

A package lists its public names as ``{name: "module"}`` (the attribute of the same name in
that module) or ``{name: "module:attribute"}`` (``"module:"`` for the module itself) and gets a
module ``__getattr__`` / ``__dir__`` pair that imports on first use and caches the value in the
package's namespace, so ``import skelloc.models`` costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` serving the names of ``table``."""
    def __getattr__(name: str) -> Any:
        try:
            target = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module_name, sep, attr = target.partition(":")
        module = importlib.import_module(module_name)
        value = module if sep and not attr else getattr(module, attr or name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(namespace.get("__all__", sorted(table)))

    return __getattr__, __dir__
