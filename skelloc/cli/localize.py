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

__all__ = ["register", "localize_cmd", "plot_targets"]

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
    min_score: Optional[float] = typer.Option(
        None, "--min-score", help="Hide segments scoring below this (default: the model's own "
                                  "threshold, chosen on its validation split; 0 shows every "
                                  "proposal, as mAP evaluation uses them)."
    ),
    ground_truth: Optional[list[Path]] = typer.Option(
        None, "--ground-truth", "--gt", "-g",
        help="PKU-MMD label file(s) (class,start,end,conf; 1-based inclusive frames, class = "
             "1-based index of the model's labels), one per INPUT: prints the ground truth beside "
             "the segments (table format) and draws it under them (--plot).",
    ),
    plot: Optional[Path] = typer.Option(
        None, "--plot",
        help="Also draw a timeline figure (class probabilities, segments, ground truth) per "
             "INPUT; the format from the suffix (.png, .pdf, .svg). With several inputs: a "
             "folder (one <input stem>.png each) or a template such as 'plots/{stem}.png'. "
             "Needs the viz extra.",
    ),
) -> None:
    """Detect action segments in each INPUT and print them (frames are the input's)."""
    import skelloc
    from skelloc.inference.api import output_threshold

    fmt = fmt.lower()
    if fmt not in _FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    if nonfinite not in ("error", "interpolate"):
        raise ConfigError(f"--nonfinite must be 'error' or 'interpolate', got {nonfinite!r}")
    if ground_truth and len(ground_truth) != len(inputs):
        raise ConfigError(f"--ground-truth needs one label file per input: {len(inputs)} "
                          f"input(s), {len(ground_truth)} label file(s)")
    plot_paths = plot_targets(plot, inputs) if plot is not None else None
    net = skelloc.load(model) if model else skelloc.load()

    results: list[dict[str, Any]] = []
    for k, path in enumerate(inputs):
        seq = skelloc.read(path) if fps is None else skelloc.read(path, fps=fps)
        kwargs: dict[str, Any] = {"layout": layout, "decoder": decoder, "device": device,
                                  "nonfinite": nonfinite, "min_score": min_score}
        analysis = skelloc.analyze(seq, net, **kwargs) if plot_paths else None
        segments = analysis.segments if analysis else skelloc.localize(seq, net, **kwargs)
        logger.info("%s: %d segments", path, len(segments))
        results.append({
            "input": str(path),
            "fps": float(seq.fps),
            "num_frames": seq.num_frames,
            "segments": [s.to_dict() for s in segments],
        })
        gt = None
        if ground_truth:
            from skelloc.viz.groundtruth import read_ground_truth

            gt = read_ground_truth(ground_truth[k], list(net.labels), results[-1]["fps"],
                                   seq.num_frames)
            results[-1]["ground_truth"] = [_gt_dict(g) for g in gt]
        if plot_paths and analysis is not None:
            from skelloc.viz import plot_timeline, save_figure

            fig = plot_timeline(analysis, gt, min_score=output_threshold(net, min_score),
                                name=path.name)
            save_figure(fig, plot_paths[k])
            typer.echo(f"wrote {plot_paths[k]}", err=True)

    text = {"table": _table, "json": _json, "csv": _csv}[fmt](results)
    if out is None:
        typer.echo(text, nl=False)
    else:
        from skelloc.io.writers import atomic_write_text

        atomic_write_text(out, text)
        typer.echo(f"wrote {sum(len(r['segments']) for r in results)} segments to {out}", err=True)


def _gt_dict(seg: Any) -> dict[str, Any]:
    return {k: getattr(seg, k) for k in ("label", "label_id", "start", "end", "start_s", "end_s")}


def plot_targets(plot: Path, inputs: list[Path]) -> list[Path]:
    """The figure path of each input for ``--plot``.

    A template containing ``{stem}`` (the input's file name without suffix) or ``{index}``
    (0-based position) gives one path per input; a folder (an existing one, or a path without
    suffix) gets ``<stem>.png`` per input; any other path is one file, for one input only.
    """
    from skelloc.viz import figure_format

    text = str(plot)
    if "{stem}" in text or "{index}" in text:
        paths = [Path(text.replace("{stem}", p.stem).replace("{index}", str(k)))
                 for k, p in enumerate(inputs)]
    elif plot.is_dir() or not plot.suffix:
        paths = [plot / f"{p.stem}.png" for p in inputs]
    elif len(inputs) > 1:
        raise ConfigError(f"--plot {plot}: {len(inputs)} inputs need one figure each; give a "
                          "folder or a template such as 'plots/{stem}.png'")
    else:
        paths = [plot]
    if len(set(paths)) != len(paths):
        raise ConfigError(f"--plot {plot}: several inputs would write the same figure; use "
                          "'{index}' in the template")
    for p in paths:
        figure_format(p)
    return paths


def _tiou(a: dict[str, Any], b: dict[str, Any]) -> float:
    inter = max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))
    union = max(a["end"], b["end"]) - min(a["start"], b["start"])
    return inter / union if union > 0 else 0.0


def _side_by_side(r: dict[str, Any]) -> list[str]:
    """Each ground-truth instance beside its best-overlapping segment, then the unmatched ones."""
    segs, gts = r["segments"], r["ground_truth"]
    used: set[int] = set()
    rows: list[tuple[str, str, str]] = []
    for g in sorted(gts, key=lambda x: x["start"]):
        free = [(i, _tiou(g, s)) for i, s in enumerate(segs) if i not in used]
        free = [c for c in free if c[1] > 0]
        same = [c for c in free if segs[c[0]]["label_id"] == g["label_id"]]
        # a same-label segment if one overlaps, else the best-overlapping one of any label
        best = max(same or free, key=lambda c: (c[1], segs[c[0]]["score"]), default=(None, 0.0))
        gtxt = f"{g['start_s']:7.2f}-{g['end_s']:7.2f}s  {g['label']}"
        if best[0] is None or best[1] <= 0:
            rows.append((gtxt, "(missed)", ""))
            continue
        used.add(best[0])
        s = segs[best[0]]
        mark = "ok" if s["label_id"] == g["label_id"] else "wrong label"
        rows.append((gtxt, f"{s['start_s']:7.2f}-{s['end_s']:7.2f}s  {s['label']} "
                           f"({s['score']:.2f})", f"tIoU {best[1]:.2f} {mark}"))
    for i, s in enumerate(segs):
        if i not in used:
            rows.append(("", f"{s['start_s']:7.2f}-{s['end_s']:7.2f}s  {s['label']} "
                             f"({s['score']:.2f})", "no ground truth"))
    width = max([len("ground truth"), *(len(a) for a, _, _ in rows)])
    pwidth = max([len("skelloc"), *(len(b) for _, b, _ in rows)])
    lines = [f"  {'ground truth':<{width}}  {'skelloc':<{pwidth}}  match"]
    lines += [f"  {a:<{width}}  {b:<{pwidth}}  {c}".rstrip() for a, b, c in rows]
    return lines


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
        if "ground_truth" in r:
            lines.extend(_side_by_side(r))
            continue
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
