"""``skelloc localize INPUT...``: detect action segments in skeleton files."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any, Optional

import typer

from skelloc.errors import ConfigError, InputError, SkellocError

__all__ = ["register", "localize_cmd", "plot_targets"]

logger = logging.getLogger(__name__)

_FORMATS = ("table", "json", "csv", "anet", "pkummd")
_CSV_FIELDS = ("input", "label", "label_id", "start", "end", "start_s", "end_s", "score")


def localize_cmd(
    inputs: list[str] = typer.Argument(
        ..., help="Skeleton files, folders or globs: .npy/.npz (T, [M,] V, C), NTU .skeleton, "
                  "PKU-MMD .txt, pose-estimator JSON, ...",
        show_default=False,
    ),
    model: Optional[str] = typer.Option(
        None, "--model", "-m",
        help="Model name, alias or weights path (default: the bundled model for the input's "
             "kind, 2D keypoints or 3D joints).",
    ),
    input_format: Optional[str] = typer.Option(
        None, "--input-format", "-i",
        help="Format of the inputs, e.g. mmpose, openpose, pkummd (default: by extension/content)."
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
    fmt: str = typer.Option(
        "table", "--format", "-f",
        help="Output: table, json, csv, anet (ActivityNet results JSON keyed by file stem, "
             "what `skelloc evaluate` reads) or pkummd (one PKU-MMD label file "
             "<stem>.txt per input in the --out folder: class,start,end,score with 1-based "
             "inclusive frames)."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write here instead of stdout (a folder for --format pkummd)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (default: cpu)."),
    nonfinite: str = typer.Option(
        "error", "--nonfinite", help="NaN/inf coordinates: error, or interpolate them."
    ),
    min_score: Optional[float] = typer.Option(
        None, "--min-score", help="Hide segments scoring below this (default: the model's own "
                                  "threshold, chosen on its validation split; 0 shows every "
                                  "proposal, as mAP evaluation uses them; --format anet and "
                                  "pkummd, written for evaluation, default to 0)."
    ),
    ground_truth: Optional[list[Path]] = typer.Option(
        None, "--ground-truth", "--gt", "-g",
        help="PKU-MMD label file(s) (class,start,end,conf; 1-based inclusive frames, class = "
             "1-based index of the model's labels), one per INPUT, or one folder of "
             "<input stem>.txt files: prints the ground truth beside the segments (table "
             "format) and draws it under them (--plot).",
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
    from skelloc.cli.data import expand_inputs, persons_of, reader_options, unique_id
    from skelloc.inference.api import output_threshold

    fmt = fmt.lower()
    if fmt not in _FORMATS:
        hint = ""
        if fmt in _input_formats():
            hint = (f"; {fmt!r} is an input format: give it as --input-format {fmt} (--format "
                    "is the output's)")
        raise ConfigError(f"--format must be one of {', '.join(_FORMATS)}, got {fmt!r}{hint}")
    if fmt == "pkummd" and out is None:
        raise ConfigError("--format pkummd writes one label file per input: give the folder "
                          "with --out DIR")
    if nonfinite not in ("error", "interpolate"):
        raise ConfigError(f"--nonfinite must be 'error' or 'interpolate', got {nonfinite!r}")
    paths = expand_inputs(inputs, input_format)
    if not paths:
        raise InputError(f"no input files matched {' '.join(inputs)}")
    gt_files = _ground_truth_files(ground_truth, paths) if ground_truth else None
    plot_paths = plot_targets(plot, paths) if plot is not None else None
    pick = model_picker(model)
    # persons to keep from pose-estimator files: the named model's, else 2 (both defaults')
    read_options = reader_options(input_format, persons_of(skelloc.load(model) if model else None),
                                  layout)

    if min_score is None and fmt in ("anet", "pkummd"):
        min_score = 0.0  # files for `skelloc evaluate`: every proposal, as mAP expects
    results: list[dict[str, Any]] = []
    used: set[str] = set()
    failed: list[Path] = []
    kwargs: dict[str, Any] = {"layout": layout, "decoder": decoder, "device": device,
                              "nonfinite": nonfinite, "min_score": min_score}
    rate = {} if fps is None else {"fps": fps}
    for k, path in enumerate(paths):
        try:
            seq = skelloc.read(path, format=input_format, **read_options(path), **rate)
            net = pick(seq)
            analysis = skelloc.analyze(seq, net, **kwargs) if plot_paths else None
            segments = analysis.segments if analysis else skelloc.localize(seq, net, **kwargs)
        except SkellocError as err:
            if len(paths) == 1:
                raise
            failed.append(path)  # one unreadable file never costs the others' results
            text = (err.cli_message or str(err)).strip().splitlines()
            typer.echo(f"skipped {path}: {text[0] if text else type(err).__name__}", err=True)
            continue
        logger.info("%s: %d segments", path, len(segments))
        results.append({
            "input": str(path),
            "video": unique_id(path.stem if path.is_file() else path.name, used),
            "fps": float(seq.fps),
            "num_frames": seq.num_frames,
            "segments": [s.to_dict() for s in segments],
        })
        gt = None
        gt_file = gt_files[k] if gt_files else None
        if gt_file is not None:
            from skelloc.viz import read_ground_truth

            gt = read_ground_truth(gt_file, list(net.labels), results[-1]["fps"],
                                   seq.num_frames)
            results[-1]["ground_truth"] = [_gt_dict(g) for g in gt]
        if plot_paths and analysis is not None:
            from skelloc.viz import plot_timeline, save_figure

            fig = plot_timeline(analysis, gt, min_score=output_threshold(net, min_score),
                                name=path.name)
            save_figure(fig, plot_paths[k])
            typer.echo(f"wrote {plot_paths[k]}", err=True)

    _write_results(results, fmt, out)
    if failed:
        typer.echo(f"{len(failed)} of {len(paths)} input(s) failed", err=True)
        raise typer.Exit(code=2)


def _write_results(results: list[dict[str, Any]], fmt: str, out: Optional[Path]) -> None:
    n_segments = sum(len(r["segments"]) for r in results)
    if fmt == "pkummd":
        assert out is not None
        written = _write_pkummd(results, out)
        typer.echo(f"wrote {n_segments} segments to {written} label file(s) in {out}", err=True)
        return
    text = {"table": _table, "json": _json, "csv": _csv, "anet": _anet}[fmt](results)
    if out is None:
        typer.echo(text, nl=False)
    else:
        from skelloc.io.writers import atomic_write_text

        atomic_write_text(out, text)
        typer.echo(f"wrote {n_segments} segments to {out}", err=True)


def _input_formats() -> set[str]:
    from skelloc.io import list_formats

    return set(list_formats())


def _ground_truth_files(given: list[Path], inputs: list[Path]) -> list[Path | None]:
    """One label file (or None) per input: files in input order, or a folder by file stem."""
    if len(given) == 1 and given[0].is_dir():
        folder = given[0]
        files: list[Path | None] = []
        for p in inputs:
            f = folder / f"{p.stem if p.is_file() else p.name}.txt"
            if f.is_file():
                files.append(f)
            else:
                logger.warning("%s: no ground truth %s in --ground-truth folder", p, f.name)
                files.append(None)
        if not any(files):
            raise InputError(f"--ground-truth {folder}: no <input stem>.txt label file matches "
                             f"any of the {len(inputs)} input(s)")
        return files
    if len(given) != len(inputs):
        raise ConfigError(f"--ground-truth needs one label file per input, or one folder: "
                          f"{len(inputs)} input(s), {len(given)} label file(s)")
    return list(given)


def _pkummd_class_id(label: str, label_id: int) -> int:
    """The PKU-MMD class id of a segment: by name when it is a PKU-MMD class, else the
    model's 1-based label index."""
    from skelloc.io.pkummd import PKUMMD_CLASSES

    try:
        return PKUMMD_CLASSES.index(label) + 1
    except ValueError:
        return int(label_id) + 1


def _write_pkummd(results: list[dict[str, Any]], folder: Path) -> int:
    from skelloc.io.writers import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        lines = [f"{_pkummd_class_id(s['label'], s['label_id'])},{s['start'] + 1},{s['end']},"
                 f"{float(s['score']):.6g}\n" for s in r["segments"]]
        atomic_write_text(folder / f"{r['video']}.txt", "".join(lines))
    return len(results)


def model_picker(model: Optional[str]) -> Any:
    """``pick(seq) -> Localizer``: the named model, or per input the default for its kind
    (2D keypoints or 3D joints), each loaded once and named on stderr when first used."""
    import skelloc
    from skelloc.api import default_for
    from skelloc.inference.validate import input_kind

    loaded: dict[str, Any] = {}

    def pick(seq: Any) -> Any:
        name = model or default_for(seq)
        if name not in loaded:
            loaded[name] = skelloc.load(name)
            if not model:
                typer.echo(f"model: {name} (the default for {input_kind(seq).upper()} input)",
                           err=True)
        return loaded[name]

    return pick


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
    """tIoU of two ``[start, end)`` frame ranges (:func:`skelloc.metrics.segment_iou`)."""
    import numpy as np

    from skelloc.metrics import segment_iou

    iou = segment_iou(np.array([a["start"]], float), np.array([a["end"]], float),
                      np.array([b["start"]], float), np.array([b["end"]], float))
    return float(iou[0])


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
    return json.dumps([{k: v for k, v in r.items() if k != "video"} for r in results],
                      indent=2) + "\n"


def _anet(results: list[dict[str, Any]]) -> str:
    """ActivityNet results JSON keyed by file stem; ``segment`` in seconds, ``frames`` the
    input's ``[start, end)`` (what `skelloc evaluate` compares with label-folder frames)."""
    doc = {
        "version": "skelloc-1",
        "results": {r["video"]: [{"label": s["label"], "label_id": s["label_id"],
                                  "score": s["score"], "segment": [s["start_s"], s["end_s"]],
                                  "frames": [s["start"], s["end"]]} for s in r["segments"]]
                    for r in results},
        "external_data": {"used": False, "details": "skeleton input only"},
        "fps": {r["video"]: r["fps"] for r in results},
    }
    return json.dumps(doc, indent=2) + "\n"


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
