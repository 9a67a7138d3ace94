"""``skelloc localize INPUT...``: detect action segments in skeleton files."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from skelloc.errors import ConfigError, InputError, SkellocError

if TYPE_CHECKING:  # pragma: no cover
    from skelloc import Segment

__all__ = ["register", "localize_cmd", "plot_targets"]

logger = logging.getLogger(__name__)

_FORMATS = ("table", "json", "csv", "anet", "pkummd")


@dataclass
class _Result:
    """One input's localisation, as the output formats need it."""

    input: str
    video: str  # the file stem, unique among the inputs (anet keys, pkummd file names)
    fps: float
    num_frames: int
    segments: list[Segment]
    ground_truth: list[Segment] | None = None


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
    from skelloc.cli.data import (
        expand_inputs,
        first_line,
        persons_of,
        reader_options,
        unique_id,
    )

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
    results: list[_Result] = []
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
            typer.echo(f"skipped {path}: {first_line(err)}", err=True)
            continue
        logger.info("%s: %d segments", path, len(segments))
        result = _Result(str(path), unique_id(path.stem if path.is_file() else path.name, used),
                         float(seq.fps), seq.num_frames, list(segments))
        results.append(result)
        gt = None
        gt_file = gt_files[k] if gt_files else None
        if gt_file is not None:
            from skelloc.viz import read_ground_truth

            gt = read_ground_truth(gt_file, list(net.labels), result.fps, seq.num_frames)
            result.ground_truth = gt
        if plot_paths and analysis is not None:
            from skelloc.viz import plot_timeline, save_figure

            fig = plot_timeline(analysis, gt, min_score=skelloc.output_threshold(net, min_score),
                                name=path.name)
            save_figure(fig, plot_paths[k])
            typer.echo(f"wrote {plot_paths[k]}", err=True)

    _write_results(results, fmt, out)
    if failed:
        typer.echo(f"{len(failed)} of {len(paths)} input(s) failed", err=True)
        raise typer.Exit(code=2)


def _write_results(results: list[_Result], fmt: str, out: Optional[Path]) -> None:
    from skelloc.io import (
        atomic_write_text,
        segments_csv_text,
        segments_json_text,
        write_segments_pkummd_folder,
    )

    n_segments = sum(len(r.segments) for r in results)
    by_video = {r.video: r.segments for r in results}
    if fmt == "pkummd":
        assert out is not None
        written = write_segments_pkummd_folder(out, by_video, class_ids="pkummd")
        typer.echo(f"wrote {n_segments} segments to {len(written)} label file(s) in {out}",
                   err=True)
        return
    if fmt == "anet":  # keyed by file stem, what `skelloc evaluate` reads
        text = segments_json_text(by_video, fps={r.video: r.fps for r in results}, indent=2)
    elif fmt == "csv":
        text = segments_csv_text({r.input: r.segments for r in results}, key="input")
    else:
        text = _table(results) if fmt == "table" else _json(results)
    if out is None:
        typer.echo(text, nl=False)
    else:
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


def model_picker(model: Optional[str]) -> Any:
    """``pick(seq) -> Localizer``: the named model, or per input the default for its kind
    (2D keypoints or 3D joints), each loaded once and named on stderr when first used."""
    import skelloc

    loaded: dict[str, Any] = {}

    def pick(seq: Any) -> Any:
        name = model or skelloc.default_for(seq)
        if name not in loaded:
            loaded[name] = skelloc.load(name)
            if not model:
                typer.echo(f"model: {name} (the default for {skelloc.input_kind(seq).upper()} "
                           "input)", err=True)
        return loaded[name]

    return pick


def _gt_dict(seg: Segment) -> dict[str, Any]:
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


def _side_by_side(ground_truth: Sequence[Segment], segments: Sequence[Segment]) -> list[str]:
    """Each ground-truth instance beside its matched segment (:func:`skelloc.metrics.
    match_segments`), then the unmatched segments."""
    from skelloc.metrics import match_segments

    def span(s: Segment) -> str:
        return f"{s.start_s:7.2f}-{s.end_s:7.2f}s  {s.label}"

    rows: list[tuple[str, str, str]] = []
    for g, p, tiou in match_segments(ground_truth, segments, label="label_id"):
        gtxt = "" if g is None else span(ground_truth[g])
        if p is None:
            rows.append((gtxt, "(missed)", ""))
            continue
        s = segments[p]
        if g is None:
            mark = "no ground truth"
        else:
            same = s.label_id == ground_truth[g].label_id
            mark = f"tIoU {tiou:.2f} {'ok' if same else 'wrong label'}"
        rows.append((gtxt, f"{span(s)} ({s.score:.2f})", mark))
    width = max([len("ground truth"), *(len(a) for a, _, _ in rows)])
    pwidth = max([len("skelloc"), *(len(b) for _, b, _ in rows)])
    lines = [f"  {'ground truth':<{width}}  {'skelloc':<{pwidth}}  match"]
    lines += [f"  {a:<{width}}  {b:<{pwidth}}  {c}".rstrip() for a, b, c in rows]
    return lines


def _json(results: list[_Result]) -> str:
    doc = []
    for r in results:
        entry: dict[str, Any] = {"input": r.input, "fps": r.fps, "num_frames": r.num_frames,
                                 "segments": [s.to_dict() for s in r.segments]}
        if r.ground_truth is not None:
            entry["ground_truth"] = [_gt_dict(g) for g in r.ground_truth]
        doc.append(entry)
    return json.dumps(doc, indent=2) + "\n"


def _table(results: list[_Result]) -> str:
    lines: list[str] = []
    for r in results:
        segs = r.segments
        lines.append(f"{r.input}  ({r.num_frames} frames at {r.fps:g} fps, "
                     f"{len(segs)} segment{'s' if len(segs) != 1 else ''})")
        if r.ground_truth is not None:
            lines.extend(_side_by_side(r.ground_truth, segs))
            continue
        if not segs:
            continue
        width = max(5, *(len(s.label) for s in segs))
        lines.append(f"  {'label':<{width}}  {'start':>7}  {'end':>7}  {'start_s':>9}  "
                     f"{'end_s':>9}  {'score':>7}")
        for s in segs:
            lines.append(f"  {s.label:<{width}}  {s.start:>7d}  {s.end:>7d}  "
                         f"{s.start_s:>9.3f}  {s.end_s:>9.3f}  {s.score:>7.4f}")
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    """Add ``localize`` to ``app``."""
    app.command("localize")(localize_cmd)
