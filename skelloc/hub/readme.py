"""Generate the README's "Models" table from the manifests.

``python -m skelloc.hub.readme`` prints the table; ``python -m skelloc.hub.readme --write
README.md`` replaces the text between ``<!-- models-table:start -->`` and
``<!-- models-table:end -->`` in place (the lead runs it after adding model entries).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skelloc.errors import ConfigError
from skelloc.hub.manifest import registry

__all__ = ["models_table", "update_readme", "main", "START", "END"]

START = "<!-- models-table:start -->"
END = "<!-- models-table:end -->"


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
        inp = f"{spec.layout} @ {spec.fps} fps"
        default = " (default)" if reg.default == name else ""
        rows.append(f"| `{name}`{default} | {e.architecture} | {e.head_name or '-'} | "
                    f"{e.num_classes} | {inp} | {', '.join(e.raw.get('datasets', [])) or '-'} | "
                    f"{_fmt_metrics(e.raw.get('metrics', {}))} | {e.license_id or '-'} |")
    if len(rows) == 2:
        rows.append("| (no models in the manifest yet) | | | | | | | |")
    return "\n".join(rows) + "\n"


def update_readme(path: str | Path) -> bool:
    """Rewrite the table between the markers of ``path``; returns whether the file changed."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ConfigError(f"{p} has no '{START}' ... '{END}' markers")
    new = text[: start + len(START)] + "\n" + models_table() + text[end:]
    if new == text:
        return False
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(p)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--write"]:
        target = args[1] if len(args) > 1 else "README.md"
        changed = update_readme(target)
        sys.stdout.write(f"{target}: {'updated' if changed else 'already up to date'}\n")
        return 0
    sys.stdout.write(models_table(args[0] if args else "*"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
