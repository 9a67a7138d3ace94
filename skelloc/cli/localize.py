"""``skelloc localize INPUT...``: detect action segments in skeleton files."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any, Optional

import typer

from skelloc.errors import ConfigError

__all__ = ["register", "localize_cmd"]

logger = logging.getLogger(__name__)

_FORMATS = ("table", "json", "csv")
_CSV_FIELDS = ("input", "label", "label_id", "start", "end", "start_s", "end_s", "score")


def localize_cmd(
    inputs: list[Path] = typer.Argument(
        ..., help="Skeleton files: .npy/.npz (T, [M,] V, C), NTU .skeleton, PKU-MMD .txt, ...",
        show_default=False,
    ),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Model name, alias or weights path (default: the bundled model)."
    ),
    fps: Optional[float] = typer.Option(
        None, "--fps", help="Frame rate of the inputs (default: the file's, else 30)."
    ),
    layout: Optional[str] = typer.Option(
        None, "--layout", help="Joint layout of the inputs, e.g. coco17 (converted to the model's)."
    ),
    decoder: Optional[str] = typer.Option(
        None, "--decoder", help="proposals (the paper's) or argmax (default: the model's choice)."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (default: cpu)."),
    nonfinite: str = typer.Option(
        "error", "--nonfinite", help="NaN/inf coordinates: error, or interpolate them."
    ),
) -> None:
    """Detect action segments in each INPUT and print them (frames are the input's)."""
    import skelloc

    fmt = fmt.lower()
    if fmt not in _FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    if nonfinite not in ("error", "interpolate"):
        raise ConfigError(f"--nonfinite must be 'error' or 'interpolate', got {nonfinite!r}")
    net = skelloc.load(model) if model else skelloc.load()

    results: list[dict[str, Any]] = []
    for path in inputs:
        seq = skelloc.read(path)
        segments = skelloc.localize(
            seq, net, fps=fps, layout=layout, decoder=decoder, device=device,
            nonfinite=nonfinite,  # type: ignore[arg-type]
        )
        logger.info("%s: %d segments", path, len(segments))
        results.append({
            "input": str(path),
            "fps": float(fps if fps is not None else seq.fps),
            "num_frames": seq.num_frames,
            "segments": [s.to_dict() for s in segments],
        })

    text = {"table": _table, "json": _json, "csv": _csv}[fmt](results)
    if out is None:
        typer.echo(text, nl=False)
    else:
        from skelloc.io.writers import atomic_write_text

        atomic_write_text(out, text)
        typer.echo(f"wrote {sum(len(r['segments']) for r in results)} segments to {out}", err=True)


def _json(results: list[dict[str, Any]]) -> str:
    return json.dumps(results, indent=2) + "\n"


def _csv(results: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        for s in r["segments"]:
            writer.writerow({"input": r["input"], **{k: s[k] for k in _CSV_FIELDS[1:]}})
    return buf.getvalue()


def _table(results: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for r in results:
        segs = r["segments"]
        lines.append(f"{r['input']}  ({r['num_frames']} frames at {r['fps']:g} fps, "
                     f"{len(segs)} segment{'s' if len(segs) != 1 else ''})")
        if not segs:
            continue
        width = max(5, *(len(s["label"]) for s in segs))
        lines.append(f"  {'label':<{width}}  {'start':>7}  {'end':>7}  {'start_s':>9}  "
                     f"{'end_s':>9}  {'score':>7}")
        for s in segs:
            lines.append(f"  {s['label']:<{width}}  {s['start']:>7d}  {s['end']:>7d}  "
                         f"{s['start_s']:>9.3f}  {s['end_s']:>9.3f}  {s['score']:>7.4f}")
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    """Add ``localize`` to ``app``."""
    app.command("localize")(localize_cmd)
