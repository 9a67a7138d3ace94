"""The timeline figure: class probabilities over time, predicted segments, ground truth.

::

    import skelloc
    from skelloc.viz import plot_timeline, read_ground_truth, save_figure

    seq = skelloc.read("examples/pkummd_0015-L_clip.npy")
    result = skelloc.analyze(seq)                      # segments + frame probabilities
    gt = read_ground_truth("examples/pkummd_0015-L_clip_labels.txt", result.labels, result.fps)
    fig = plot_timeline(result, gt)
    save_figure(fig, "timeline.png")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from skelloc.errors import ConfigError
from skelloc.viz._common import class_color, new_figure, require_matplotlib

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from skelloc.inference.api import Localization
    from skelloc.inference.segments import Segment

__all__ = ["pack_lanes", "plot_timeline", "select_classes"]

#: a bar is at least this fraction of the time axis wide when packing lanes, so that its score
#: label never runs into the next bar of the same lane
_MIN_LABEL_FRACTION = 0.035
_LANE_HEIGHT_IN = 0.28


@dataclass(frozen=True)
class _Lanes:
    rows: list[list[Segment]]
    dropped: int


def select_classes(
    result: Localization,
    segments: Sequence[Segment] = (),
    ground_truth: Sequence[Segment] = (),
    *,
    prob_threshold: float = 0.5,
    max_classes: int = 12,
) -> list[int]:
    """The classes worth a curve: those of ``segments`` and ``ground_truth``, and those whose
    probability reaches ``prob_threshold`` somewhere; at most ``max_classes``, the ones with the
    highest peak probability (ground-truth classes first). Sorted by class id."""
    num_classes = len(result.labels)
    peak = result.probs[:, :num_classes].max(axis=0) if result.num_frames else np.zeros(0)
    gt_ids = {s.label_id for s in ground_truth}
    wanted = gt_ids | {s.label_id for s in segments}
    wanted |= {int(k) for k in np.flatnonzero(peak >= prob_threshold)}
    wanted = {k for k in wanted if 0 <= k < num_classes}
    ranked = sorted(wanted, key=lambda k: (k not in gt_ids, -float(peak[k]), k))
    return sorted(ranked[:max_classes])


def pack_lanes(segments: Sequence[Segment], duration_s: float, max_lanes: int = 8,
               min_fraction: float = _MIN_LABEL_FRACTION) -> list[list[Segment]]:
    """Greedy interval packing, strongest segment first: each segment goes to the first lane
    where it overlaps nothing (a bar counts as at least ``min_fraction`` of the axis wide).
    Segments that fit in none of ``max_lanes`` lanes are left out."""
    return _pack(segments, duration_s, max_lanes, min_fraction).rows


def _pack(segments: Sequence[Segment], duration_s: float, max_lanes: int,
          min_fraction: float) -> _Lanes:
    min_width = max(duration_s, 1e-9) * min_fraction
    rows: list[list[Segment]] = []
    dropped = 0
    for seg in sorted(segments, key=lambda s: (-s.score, s.start_s)):
        for row in rows:
            if not any(_overlaps(seg, other, min_width) for other in row):
                row.append(seg)
                break
        else:
            if len(rows) < max_lanes:
                rows.append([seg])
            else:
                dropped += 1
    return _Lanes(rows, dropped)


def _overlaps(a: Segment, b: Segment, min_width: float) -> bool:
    a_end = max(a.end_s, a.start_s + min_width)
    b_end = max(b.end_s, b.start_s + min_width)
    return a.start_s < b_end and b.start_s < a_end


def _draw_bars(ax: Axes, rows: list[list[Segment]], *, scores: bool, duration: float) -> None:
    n = max(1, len(rows))
    for lane, row in enumerate(rows):
        y = n - 1 - lane  # the strongest lane on top
        for seg in row:
            colour = class_color(seg.label_id)
            alpha = 0.35 + 0.65 * float(np.clip(seg.score, 0.0, 1.0)) if scores else 0.9
            ax.barh(y, seg.end_s - seg.start_s, left=seg.start_s, height=0.8, color=colour,
                    alpha=alpha, edgecolor=colour, linewidth=0.8, gid=f"segment:{seg.label_id}")
            if scores:
                ax.text(seg.start_s + duration * 0.002, y, f"{seg.score:.2f}", va="center",
                        ha="left", fontsize=7, color="black", clip_on=True)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def plot_timeline(
    result: Localization,
    ground_truth: Sequence[Segment] | None = None,
    *,
    min_score: float = 0.0,
    classes: Sequence[int | str] | None = None,
    prob_threshold: float = 0.5,
    max_classes: int = 12,
    max_lanes: int = 8,
    show_background: bool = True,
    title: str | None = None,
    name: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100.0,
) -> Figure:
    """The timeline of one sequence.

    Top: per-class probability curves (the classes of the drawn segments and the ground truth,
    and any class reaching ``prob_threshold``; or exactly ``classes``, ids or names) with the
    background probability dashed, and the ground-truth instances shaded. Middle: predicted
    segments scoring at least ``min_score`` as bars (opacity and label = score, strongest lane on
    top). Bottom, when ``ground_truth`` is given: the ground-truth instances. Time in seconds;
    the class legend sits outside the plot on the right.

    Args:
        result: what :func:`skelloc.analyze` returns.
        ground_truth: segments in the same frames, e.g. from :func:`read_ground_truth`.
        title: the figure title (default: the segment and instance counts, after ``name``).
        figsize: inches (default 12 wide, the height following the number of bar lanes).
    """
    require_matplotlib()
    from matplotlib.lines import Line2D

    gt = list(ground_truth or [])
    segments = [s for s in result.segments if s.score >= min_score]
    labels = list(result.labels)
    if classes is not None:
        shown = sorted({_class_id(c, labels) for c in classes})
    else:
        shown = select_classes(result, segments, gt, prob_threshold=prob_threshold,
                               max_classes=max_classes)
    fps = float(result.fps)
    duration = max(result.num_frames, 1) / fps
    pred = _pack(segments, duration, max_lanes, _MIN_LABEL_FRACTION)
    gt_rows = _pack(gt, duration, max_lanes, 0.0).rows if gt else []

    n_pred = max(1, len(pred.rows))
    heights = [3.0, max(0.6, n_pred * _LANE_HEIGHT_IN)]
    if gt:
        heights.append(max(0.45, len(gt_rows) * _LANE_HEIGHT_IN))
    if figsize is None:
        figsize = (12.0, 1.4 + sum(heights))
    fig = new_figure(figsize, dpi)
    axes = fig.subplots(len(heights), 1, sharex=True, height_ratios=heights)
    ax_prob, ax_pred = axes[0], axes[1]

    t = np.arange(result.num_frames, dtype=np.float64) / fps
    for k in shown:
        ax_prob.plot(t, result.probs[:, k], color=class_color(k), lw=1.3, gid=f"prob:{k}")
    if show_background and result.probs.shape[1] > len(labels):
        ax_prob.plot(t, result.probs[:, len(labels)], color="0.45", lw=0.9, ls="--",
                     gid="prob:background")
    for seg in gt:
        ax_prob.axvspan(seg.start_s, seg.end_s, color=class_color(seg.label_id), alpha=0.10,
                        lw=0)
    ax_prob.set_ylim(0.0, 1.03)
    ax_prob.set_ylabel("probability")
    ax_prob.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax_prob.spines[side].set_visible(False)

    _draw_bars(ax_pred, pred.rows, scores=True, duration=duration)
    pred_label = "predicted" if not min_score else f"predicted\n(score ≥ {min_score:g})"
    if pred.dropped:
        pred_label += f"\n+{pred.dropped} not drawn"
    ax_pred.set_ylabel(pred_label, rotation=0, ha="right", va="center", fontsize=9)
    if gt:
        ax_gt = axes[2]
        _draw_bars(ax_gt, gt_rows, scores=False, duration=duration)
        ax_gt.set_ylabel("ground truth", rotation=0, ha="right", va="center", fontsize=9)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0.0, duration)

    legend_ids = sorted(set(shown) | {s.label_id for s in segments} | {s.label_id for s in gt})
    handles: list[Any] = [Line2D([], [], color=class_color(k), lw=5, label=_name(k, labels))
                          for k in legend_ids]
    if show_background and result.probs.shape[1] > len(labels):
        handles.append(Line2D([], [], color="0.45", lw=1, ls="--", label="background"))
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False,
                   title="class", title_fontsize=9, alignment="left")
    if title is None:
        title = (f"{name + ': ' if name else ''}"
                 f"{len(segments)} segment{'s' if len(segments) != 1 else ''}"
                 f"{' (score ≥ ' + format(min_score, 'g') + ')' if min_score else ''}"
                 f"{', ' + str(len(gt)) + ' ground-truth instances' if gt else ''}")
    fig.suptitle(title, fontsize=11, x=0.02, ha="left")
    return fig


def _class_id(value: int | str, labels: list[str]) -> int:
    if isinstance(value, str):
        if value not in labels:
            raise ConfigError(f"unknown class {value!r}; the model's labels are "
                              f"{', '.join(labels[:8])}{', ...' if len(labels) > 8 else ''}")
        return labels.index(value)
    if not 0 <= int(value) < len(labels):
        raise ConfigError(f"class id {value} outside 0..{len(labels) - 1}")
    return int(value)


def _name(k: int, labels: list[str]) -> str:
    return labels[k] if 0 <= k < len(labels) else f"class_{k}"
