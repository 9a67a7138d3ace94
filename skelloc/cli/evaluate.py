"""`skelloc evaluate`: detection mAP of predictions against ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from skelloc.errors import ConfigError

_HELP = """Detection mAP of PRED against GT under one of the three conventions.

PRED and GT are ActivityNet-style JSON files ({"results": {video: [{label, segment, score}]}}
and {"database": {video: {annotations: [{label, segment}]}}}) or PKU-MMD label folders (one
<video>.txt per video, lines class,start,end,confidence with 1-based inclusive frames).
`skelloc localize --format anet` (JSON keyed by file stem) and `--format pkummd` (a label
folder) write PRED directly. Class names are mapped to numeric ids by the PKU-MMD class list
(or --classes); JSON seconds are compared with label-folder frames at --fps.

Protocols: anet (ActivityNet, one-to-one), pkummd (official PKU-MMD script, many-to-one,
mAP_action and mAP_video), frameset (VOC on integer frame sets, as the paper's code).
"""


def _parse_thresholds(values: Optional[list[str]]) -> Optional[list[float]]:
    if not values:
        return None
    out: list[float] = []
    for v in values:
        for part in v.replace(",", " ").split():
            try:
                out.append(float(part))
            except ValueError:
                raise ConfigError(f"--tiou expects numbers, got {part!r}") from None
    return out


def _class_list(value: Optional[str]) -> Optional[dict[int, str]]:
    """``--classes``: a classes.txt file, else a model name or weights path."""
    if value is None:
        return None
    path = Path(value)
    if path.is_file() and path.suffix.lower() == ".txt":
        from skelloc.io import read_pkummd_classes

        return read_pkummd_classes(path)
    import skelloc

    return {i + 1: str(name) for i, name in enumerate(skelloc.load(value).labels)}


def evaluate(
    pred: Path = typer.Argument(..., help="Predictions: results JSON or PKU-MMD label folder."),
    gt: Path = typer.Argument(..., help="Ground truth: database JSON or PKU-MMD label folder."),
    protocol: str = typer.Option("anet", "--protocol", "-p",
                                 help="anet | pkummd | frameset."),
    tiou: Optional[list[str]] = typer.Option(
        None, "--tiou", "-t",
        help="IoU threshold(s); repeat or comma-separate. Default 0.1..0.5 (pkummd: 0.5)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    per_class: bool = typer.Option(False, "--per-class", help="Add one row per class."),
    num_classes: Optional[int] = typer.Option(
        None, "--num-classes", help="pkummd: divisor of mAP_action_official (default 51)."),
    frameset_ends: str = typer.Option(
        "released", "--frameset-ends",
        help="frameset: 'released' (the paper's code, off by one at the ends) or 'exact'."),
    plot: Optional[Path] = typer.Option(
        None, "--plot",
        help="Also draw mAP vs tIoU and per-class AP bars to this image (.png, .pdf, .svg); "
             "needs the viz extra."),
    classes: Optional[str] = typer.Option(
        None, "--classes",
        help="Class list mapping names to numeric ids: a classes.txt (id,name lines) or a "
             "model name/path (its labels, id = position + 1). Default: the 51 PKU-MMD classes."),
    fps: Optional[float] = typer.Option(
        None, "--fps", help="Frame rate turning JSON seconds into label-folder frames where the "
                            "JSON carries no frames (default 30, PKU-MMD's)."),
) -> None:
    from skelloc.metrics import detection_map

    if plot is not None:
        from skelloc.viz import figure_format

        figure_format(plot)  # a bad suffix or missing matplotlib fails before any work

    result = detection_map(
        pred, gt, _parse_thresholds(tiou), protocol,  # type: ignore[arg-type]
        num_classes=num_classes,
        frameset_ends=frameset_ends,  # type: ignore[arg-type]
        classes=_class_list(classes), fps=fps, strict_labels=True,
    )
    names = class_names(result.classes, gt)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(result.format_table(per_class=per_class, class_names=names))
    if plot is not None:
        from skelloc.viz import plot_evaluation, save_figure

        save_figure(plot_evaluation(result, class_names=names), plot)
        typer.echo(f"wrote {plot}", err=True)


def class_names(classes: list[Any], gt: Path) -> dict[Any, str]:
    """Names for the per-class rows and bars: a PKU-MMD label folder's 1-based class ids are
    PKU-MMD's, so they are shown as the dataset's class names; other labels as they are."""
    from skelloc.io import PKUMMD_CLASSES

    if not gt.is_dir():
        return {}
    return {c: f"{c} {PKUMMD_CLASSES[int(c) - 1]}" for c in classes
            if isinstance(c, int) and 1 <= int(c) <= len(PKUMMD_CLASSES)}


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("evaluate", help=_HELP)(evaluate)
