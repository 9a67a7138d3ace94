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


#: a class counts as learned with at least this many training instances
LEARNED_MIN_INSTANCES = 10


def _detects(e: Any) -> str:
    """The classes a model really learned, with their training instance counts."""
    names = list(e.label_names)
    if not names:
        return "features only (encoder, no classes)"
    counts = e.raw.get("training_instances")
    if not isinstance(counts, Mapping):
        return f"{len(names)} classes"
    learned = [(n, int(counts.get(n, 0))) for n in names
               if int(counts.get(n, 0)) >= LEARNED_MIN_INSTANCES]
    few = sum(1 for n in names if 0 < int(counts.get(n, 0)) < LEARNED_MIN_INSTANCES)
    none = len(names) - len(learned) - few
    text = "; ".join(f"{n} ({k})" for n, k in learned) or "none"
    rest = [f"{few} more with < {LEARNED_MIN_INSTANCES} instances each (unreliable)"] if few else []
    rest += [f"{none} never seen in training"] if none else []
    return f"**{len(learned)}**: {text}" + (f"; not learned: {', '.join(rest)}" if rest else "")


def _input(e: Any) -> str:
    spec = e.input_spec
    layout = spec.layout
    channels = spec.channels - int(getattr(spec, "confidence", False))
    kind = {3: "3D", 2: "2D"}.get(channels, f"{channels}-channel")
    tags = (e.raw.get("card") or {}).get("tags", [])
    sensor = " Kinect v2" if "kinect-v2" in tags and channels == 3 else ""
    if getattr(spec, "confidence", False):
        kind += " keypoints + scores (any image size)"
    persons = spec.max_persons
    return (f"{kind}{sensor}, `{layout}` ({spec.num_joints} joints)"
            + (f", up to {persons} persons" if persons and persons > 1 else
               ", 1 person" if persons == 1 else ""))


def _accuracy(e: Any) -> str:
    m = e.raw.get("metrics") or {}
    if not isinstance(m.get("average_mAP"), int | float):
        return "-"
    out = f"mAP@0.5 {100 * m['mAP@0.5']:.1f}, avg mAP@0.1-0.5 {100 * m['average_mAP']:.1f}"
    if isinstance(m.get("F1@0.5"), int | float):
        out += f", F1@0.5 {100 * m['F1@0.5']:.1f}"
    return out + (f" (`{m['command']}`)" if m.get("command") else "")


def _output(e: Any) -> str:
    inf = e.raw.get("inference") or {}
    if "min_score" not in inf:
        return "-"
    out = f"`min_score` {inf['min_score']:g}"
    m = e.raw.get("metrics") or {}
    if isinstance(m.get("segments_per_video"), int | float):
        out += f", {m['segments_per_video']:g} segments per video"
    return out


def models_table(pattern: str = "*") -> str:
    """What each model detects: the classes it really learned (training instances each), the
    input it takes, its frame rate, its validation accuracy with the command that measured it,
    and its default output threshold."""
    reg = registry()
    rows = [("| model | detects (training instances) | input | frame rate | validation accuracy "
             "(held-out performances) | default output |"),
            "|---|---|---|---|---|---|"]
    for name in reg.names(pattern):
        e = reg.models[name]
        fps = e.input_spec.fps
        default = (" (default)" if reg.default == name else
                   " (2D default)" if getattr(reg, "default_2d", None) == name else "")
        rows.append(f"| `{name}`{default} | {_detects(e)} | {_input(e)} | any; resampled to "
                    f"{fps:g} fps (no rate given: 30) | {_accuracy(e)} | {_output(e)} |")
    if len(rows) == 2:
        rows.append("| (no models in the manifest yet) | | | | | |")
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
