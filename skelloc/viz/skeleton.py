"""Skeleton animations with the predicted and ground-truth labels as captions.

::

    import skelloc
    from skelloc.viz import animate_skeleton, save_animation

    seq = skelloc.read("examples/pkummd_0015-L_clip.npy")
    anim = animate_skeleton(seq, skelloc.analyze(seq), start=10, end=20)
    save_animation(anim, "clip.gif")          # or .mp4 with ffmpeg on the PATH

3D layouts (NTU / Kinect: x right, y up, z depth) are drawn from a fixed camera in front of
the subjects with a slight elevation; 2D image-space layouts (COCO, OpenPose, ...) with y
pointing down. Axis limits are fixed over the whole sequence (robust percentiles of the present
joints, equal aspect), all-zero (absent) persons and missing 2D joints are not drawn.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from skelloc.errors import ConfigError, MissingDependencyError
from skelloc.skeleton.layouts import get_layout, layout_for_joints
from skelloc.viz._common import class_color, new_figure, require_matplotlib

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.animation import FuncAnimation

    from skelloc.inference.api import Localization
    from skelloc.inference.segments import Segment
    from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "ANIMATION_FORMATS",
    "DEFAULT_MAX_FRAMES",
    "animate_skeleton",
    "animation_format",
    "frame_indices",
    "frame_labels",
    "save_animation",
]

logger = logging.getLogger(__name__)

#: frames rendered when neither ``stride`` nor ``max_frames`` says otherwise (10 s at 30 fps)
DEFAULT_MAX_FRAMES = 300
ANIMATION_FORMATS = ("gif", "mp4")
_PERSON_COLOURS = ("#1f4e9c", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#555555")


def frame_indices(num_frames: int, fps: float, *, start: float | None = None,
                  end: float | None = None, stride: int | None = None,
                  max_frames: int | None = DEFAULT_MAX_FRAMES) -> np.ndarray:
    """The frames to render: ``[start, end)`` seconds every ``stride`` frames.

    Without ``stride`` the smallest stride that keeps at most ``max_frames`` frames is used;
    with one, frames beyond ``max_frames`` are cut (with a warning). ``max_frames=None`` means
    no cap.
    """
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    if stride is not None and stride < 1:
        raise ConfigError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1, got {max_frames}")
    first = 0 if start is None else math.floor(start * fps + 1e-9)
    stop = num_frames if end is None else min(num_frames, math.ceil(end * fps - 1e-9))
    if first < 0 or first >= num_frames or stop <= first:
        raise ConfigError(f"no frames in the range start={start}, end={end} s of a "
                          f"{num_frames / fps:.2f} s sequence")
    count = stop - first
    if stride is None:
        stride = 1 if max_frames is None else max(1, math.ceil(count / max_frames))
        if stride > 1:
            logger.info("rendering every %d. frame (at most %d frames)", stride, max_frames)
    idx = np.arange(first, stop, stride)
    if max_frames is not None and len(idx) > max_frames:
        logger.warning("cutting the animation to %d of %d frames (raise --max-frames or "
                       "--stride)", max_frames, len(idx))
        idx = idx[:max_frames]
    return idx


def frame_labels(segments: Sequence[Segment], num_frames: int,
                 min_score: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the class id and score of the highest-scoring segment covering it
    (``-1`` / ``nan`` where none does)."""
    ids = np.full(num_frames, -1, dtype=np.int64)
    scores = np.full(num_frames, np.nan)
    for seg in sorted(segments, key=lambda s: s.score):  # the strongest written last
        if seg.score < min_score:
            continue
        ids[seg.start:seg.end] = seg.label_id
        scores[seg.start:seg.end] = seg.score
    return ids, scores


def animation_format(path: str | os.PathLike[str]) -> str:
    """``"gif"`` or ``"mp4"`` from the suffix of ``path``: :class:`ConfigError` for another
    suffix, :class:`MissingDependencyError` for ``.mp4`` without ffmpeg on the PATH."""
    require_matplotlib()
    from matplotlib import animation

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ANIMATION_FORMATS:
        raise ConfigError(f"{path}: an animation must be written to .gif or .mp4, "
                          f"got {'.' + suffix if suffix else 'no suffix'}")
    if suffix == "mp4" and not animation.writers.is_available("ffmpeg"):
        raise MissingDependencyError(
            "writing .mp4 needs ffmpeg on the PATH (apt install ffmpeg, brew install ffmpeg "
            "or conda install ffmpeg); or write a .gif instead")
    return suffix


def _runs(ids: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, end, value)`` runs of equal values in ``ids``."""
    if len(ids) == 0:
        return []
    cuts = np.flatnonzero(np.diff(ids)) + 1
    bounds = np.concatenate([[0], cuts, [len(ids)]])
    return [(int(a), int(b), int(ids[a])) for a, b in itertools.pairwise(bounds)]


def _present(points: np.ndarray) -> np.ndarray:
    """``(..., V)`` mask of joints that are there: finite and not exactly at the origin."""
    return np.isfinite(points).all(axis=-1) & (np.abs(points).sum(axis=-1) > 0)


def _limits(coords: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and half-width (equal for every axis) from the 1st-99th percentiles."""
    pts = coords[mask]
    if len(pts) == 0:
        return np.zeros(coords.shape[-1]), 1.0
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    half = float(np.max(hi - lo)) / 2 * 1.15
    return (lo + hi) / 2, max(half, 1e-3)


def _bone_path(points: np.ndarray, ok: np.ndarray, bones: np.ndarray) -> np.ndarray:
    """``(3 * B, D)`` bone end points separated by NaN rows (one Line2D per person)."""
    out = np.full((len(bones), 3, points.shape[-1]), np.nan)
    good = ok[bones[:, 0]] & ok[bones[:, 1]]
    out[good, 0] = points[bones[good, 0]]
    out[good, 1] = points[bones[good, 1]]
    return out.reshape(-1, points.shape[-1])


def animate_skeleton(
    seq: SkeletonSequence | np.ndarray,
    result: Localization | None = None,
    ground_truth: Sequence[Segment] | None = None,
    *,
    layout: str | None = None,
    fps: float | None = None,
    start: float | None = None,
    end: float | None = None,
    stride: int | None = None,
    max_frames: int | None = DEFAULT_MAX_FRAMES,
    min_score: float = 0.0,
    elev: float = 12.0,
    azim: float = -80.0,
    figsize: tuple[float, float] = (6.0, 6.4),
    dpi: float = 80.0,
    title: str | None = None,
) -> FuncAnimation:
    """Animate every person of ``seq`` with the bones of its layout.

    Captions give the current predicted label (the highest-scoring segment of ``result`` at
    least ``min_score`` covering the frame) and the ground truth; a strip at the bottom shows
    both over the rendered range with a cursor. The animation plays in real time
    (``fps / stride`` frames per second); see :func:`frame_indices` for the frame choice.
    """
    require_matplotlib()
    from matplotlib.animation import FuncAnimation

    from skelloc.inference.validate import as_sequence

    seq = as_sequence(seq, layout=layout or _default_layout(seq), fps=fps,
                      nonfinite="interpolate")
    lay = get_layout(seq.layout)
    if lay.num_joints != seq.num_joints:
        raise ConfigError(f"layout {lay.name!r} has {lay.num_joints} joints, the sequence "
                          f"{seq.num_joints}; pass the input's layout")
    channels = seq.num_channels - (1 if seq.meta.get("confidence") else 0)
    if channels not in (2, 3):
        raise ConfigError(f"can only draw 2D or 3D joints, got {channels} coordinates")
    coords = seq.joints[..., :channels].astype(np.float64)
    present = _present(coords)
    if seq.meta.get("confidence"):
        present &= seq.joints[..., -1] > 0
    idx = frame_indices(seq.num_frames, seq.fps, start=start, end=end, stride=stride,
                        max_frames=max_frames)
    step = int(idx[1] - idx[0]) if len(idx) > 1 else 1
    play_fps = float(seq.fps) / step
    if channels == 3:  # Kinect camera space (x right, y up, z depth) -> plot axes (x, z, y)
        coords = coords[..., [0, 2, 1]]
    centre, half = _limits(coords, present)
    bones = np.asarray(lay.edges, dtype=np.int64).reshape(-1, 2)

    fig = new_figure(figsize, dpi, layout=None)
    if channels == 3:
        ax: Any = fig.add_axes((0.0, 0.17, 1.0, 0.72), projection="3d")  # an Axes3D
        ax.view_init(elev=elev, azim=azim)
        ax.set_box_aspect((1, 1, 1), zoom=1.2)
        for set_lim, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre):
            set_lim(c - half, c + half)
        ax.set_xlabel("x")
        ax.set_ylabel("z (depth)")
        ax.set_zlabel("y")
        ax.tick_params(labelsize=6)
        lines = [ax.plot([], [], [], lw=2, marker="o", ms=2, color=_person_colour(m))[0]
                 for m in range(seq.num_persons)]
    else:
        ax = fig.add_axes((0.08, 0.17, 0.88, 0.72))
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] + half, centre[1] - half)  # image space: y points down
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
        lines = [ax.plot([], [], lw=2, marker="o", ms=2, color=_person_colour(m))[0]
                 for m in range(seq.num_persons)]

    labels = list(result.labels) if result is not None else []
    pred_ids, pred_scores = (frame_labels(result.segments, seq.num_frames, min_score)
                             if result is not None else (None, None))
    gt_ids = frame_labels(ground_truth, seq.num_frames)[0] if ground_truth else None
    texts = {
        "title": fig.text(0.02, 0.965, title or "", fontsize=10, ha="left", va="top"),
        "pred": fig.text(0.02, 0.93, "", fontsize=10, ha="left", va="top", weight="bold"),
        "gt": fig.text(0.02, 0.895, "", fontsize=10, ha="left", va="top"),
        "time": fig.text(0.98, 0.965, "", fontsize=9, ha="right", va="top", family="monospace"),
    }
    cursor = _strip(fig, idx, seq.fps, pred_ids, gt_ids)

    def name(k: int) -> str:
        return labels[k] if 0 <= k < len(labels) else f"class {k}"

    def update(i: int) -> list[Any]:
        line: Any
        for m, line in enumerate(lines):
            path = _bone_path(coords[i, m], present[i, m], bones)
            if channels == 3:
                line.set_data_3d(path[:, 0], path[:, 1], path[:, 2])
            else:
                line.set_data(path[:, 0], path[:, 1])
        texts["time"].set_text(f"{i / seq.fps:7.2f} s  frame {i}")
        if pred_ids is not None and pred_scores is not None:
            k = int(pred_ids[i])
            texts["pred"].set_text(f"predicted: {name(k)} ({pred_scores[i]:.2f})" if k >= 0
                                   else "predicted: -")
            texts["pred"].set_color(class_color(k) if k >= 0 else "0.4")
        if gt_ids is not None:
            k = int(gt_ids[i])
            texts["gt"].set_text(f"ground truth: {name(k) if k >= 0 else '-'}")
            texts["gt"].set_color(class_color(k) if k >= 0 else "0.4")
        if cursor is not None:
            cursor.set_xdata([i / seq.fps, i / seq.fps])
        return [*lines, *texts.values()]

    update(int(idx[0]))
    return FuncAnimation(fig, update, frames=[int(i) for i in idx], interval=1000.0 / play_fps,
                         blit=False, cache_frame_data=False)


def _strip(fig: Any, idx: np.ndarray, fps: float, pred_ids: np.ndarray | None,
           gt_ids: np.ndarray | None) -> Any:
    """The label strip under the skeleton (rows: predicted, ground truth) and its cursor."""
    rows = [(n, ids) for n, ids in (("pred", pred_ids), ("GT", gt_ids)) if ids is not None]
    if not rows:
        return None
    ax = fig.add_axes((0.1, 0.05, 0.86, 0.035 * len(rows) + 0.02))
    first, last = int(idx[0]), int(idx[-1]) + 1
    for r, (_, ids) in enumerate(rows):
        y = len(rows) - 1 - r
        for a, b, k in _runs(ids[first:last]):
            if k >= 0:
                ax.broken_barh([((first + a) / fps, (b - a) / fps)], (y - 0.4, 0.8),
                               color=class_color(k))
    ax.set_xlim(first / fps, last / fps)
    ax.set_ylim(-0.5, len(rows) - 0.5)
    ax.set_yticks(range(len(rows)), [n for n, _ in reversed(rows)], fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("time (s)", fontsize=7, labelpad=1)
    return ax.axvline(first / fps, color="black", lw=1.2)


def _person_colour(m: int) -> str:
    return _PERSON_COLOURS[m % len(_PERSON_COLOURS)]


def _default_layout(seq: Any) -> str | None:
    from skelloc.skeleton.sequence import SkeletonSequence

    if isinstance(seq, SkeletonSequence):
        return None
    shape = np.shape(seq)
    joints = shape[-2] if len(shape) >= 3 else 0
    return layout_for_joints(joints) if joints else None


def save_animation(anim: FuncAnimation, path: str | os.PathLike[str], *,
                   fps: float | None = None, dpi: float | None = None) -> Path:
    """Write ``anim`` to ``path`` atomically: ``.gif`` with Pillow, ``.mp4`` with ffmpeg.

    ``fps`` defaults to the animation's own rate (real time for :func:`animate_skeleton`).
    Raises :class:`MissingDependencyError` for ``.mp4`` without ffmpeg on the PATH.
    """
    require_matplotlib()
    from matplotlib import animation

    from skelloc._atomic import atomic_path

    fmt = animation_format(path)
    source: Any = anim.event_source
    rate = float(fps) if fps is not None else 1000.0 / float(source.interval)
    if fmt == "gif":
        writer: Any = animation.PillowWriter(fps=rate)  # type: ignore[arg-type]
    else:
        writer = animation.FFMpegWriter(fps=rate,  # type: ignore[arg-type]
                                        extra_args=["-pix_fmt", "yuv420p"])
    target = Path(path)
    with atomic_path(target, suffix=target.suffix) as tmp:
        anim.save(str(tmp), writer=writer, dpi=dpi)  # dpi None: the figure's
    logger.info("wrote %s", target)
    return target
