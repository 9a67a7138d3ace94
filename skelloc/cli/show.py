"""``skelloc show INPUT --out clip.gif``: animate a skeleton with its predicted and true labels."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

__all__ = ["register", "show_cmd"]

logger = logging.getLogger(__name__)


def show_cmd(
    input: Path = typer.Argument(..., help="A skeleton file (any format skelloc reads).",
                                 show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="The animation: .gif (Pillow) or .mp4 "
                             "(needs ffmpeg).", show_default=False),
    ground_truth: Optional[Path] = typer.Option(
        None, "--ground-truth", "--gt", "-g",
        help="PKU-MMD label file (class = 1-based index of the model's labels) for the "
             "ground-truth caption."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Model name, alias or weights path (default: the bundled "
                                    "model)."),
    predict: bool = typer.Option(True, "--predict/--no-predict",
                                 help="Run the model for the predicted-label caption."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate of the input (default: "
                                                            "the file's, else 30)."),
    input_format: Optional[str] = typer.Option(
        None, "--input-format", "-i",
        help="Format of INPUT, e.g. mmpose, openpose (default: by extension/content)."),
    layout: Optional[str] = typer.Option(None, "--layout", help="Joint layout of the input, "
                                                                "e.g. coco17."),
    decoder: Optional[str] = typer.Option(None, "--decoder", help="proposals or argmax."),
    min_score: float = typer.Option(0.0, "--min-score", help="Ignore segments scoring below "
                                                             "this for the caption."),
    start: Optional[float] = typer.Option(None, "--start", help="First second to show."),
    end: Optional[float] = typer.Option(None, "--end", help="Second to stop at (exclusive)."),
    stride: Optional[int] = typer.Option(None, "--stride", help="Show every N-th frame "
                                         "(default: the smallest that fits --max-frames)."),
    max_frames: int = typer.Option(300, "--max-frames", help="At most this many frames."),
    dpi: float = typer.Option(80.0, "--dpi", help="Resolution (the figure is 6 x 6.4 inches)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (default: cpu)."),
) -> None:
    """Animate every person of INPUT (bones of its layout; 3D from a fixed front camera, 2D in
    image space) with the current predicted label and the ground truth as captions. The
    animation plays in real time: the sequence's frame rate divided by the stride."""
    import skelloc
    from skelloc.cli.data import persons_of, reader_options
    from skelloc.viz import animate_skeleton, animation_format, read_ground_truth, save_animation

    animation_format(out)  # a bad suffix fails before any work
    net = None
    if predict or ground_truth is not None:
        net = skelloc.load(model) if model else skelloc.load()
    # pose-estimator files: as many persons as the model takes (2 without a model)
    options = reader_options(input_format, persons_of(net))
    rate = {} if fps is None else {"fps": fps}
    seq = skelloc.read(input, format=input_format, **options(input), **rate)
    if layout is not None:
        seq = skelloc.SkeletonSequence(seq.joints, layout=layout, fps=seq.fps,
                                       meta=dict(seq.meta))
    result = None
    labels: list[str] = []
    if net is not None:
        labels = list(net.labels)
        if predict:
            result = skelloc.analyze(seq, net, decoder=decoder, device=device)
    gt = (read_ground_truth(ground_truth, labels, float(seq.fps), seq.num_frames)
          if ground_truth is not None else None)
    anim = animate_skeleton(seq, result, gt, start=start, end=end, stride=stride,
                            max_frames=max_frames, min_score=min_score, dpi=dpi,
                            title=input.name)
    save_animation(anim, out)
    typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``show`` to ``app``."""
    app.command("show")(show_cmd)
