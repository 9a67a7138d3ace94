"""Generate the README's "Models" table from the manifests: ``python -m skelloc.hub.readme``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from skelloc.hub.manifest import registry

__all__ = ["models_table", "main"]


def _fmt_metrics(metrics: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in metrics.items() if isinstance(v, int | float)) or "-"


def models_table(pattern: str = "*") -> str:
    """A Markdown table of every known model (name, architecture, classes, data, metrics,
    license)."""
    reg = registry()
    rows = ["| model | architecture | head | classes | input | datasets | metrics | license |",
            "|---|---|---|---|---|---|---|---|"]
    for name in reg.names(pattern):
        e = reg.models[name]
        spec = e.input_spec
        inp = f"{spec.get('layout', spec.get('joint_layout', '?'))} @ {spec.get('fps', '?')} fps"
        default = " (default)" if reg.default == name else ""
        rows.append(f"| `{name}`{default} | {e.architecture} | {e.head_name or '-'} | "
                    f"{e.num_classes} | {inp} | {', '.join(e.raw.get('datasets', [])) or '-'} | "
                    f"{_fmt_metrics(e.raw.get('metrics', {}))} | {e.license_id or '-'} |")
    if len(rows) == 2:
        rows.append("| (no models in the manifest yet) | | | | | | | |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sys.stdout.write(models_table(args[0] if args else "*"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
