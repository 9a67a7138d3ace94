"""Plots of a detection evaluation (:class:`skelloc.metrics.DetectionResult`).

::

    from skelloc.metrics import detection_map
    from skelloc.viz import plot_evaluation, save_figure

    result = detection_map("pred.json", "gt.json", protocol="anet")
    save_figure(plot_evaluation(result), "eval.png")
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from skelloc.errors import ConfigError
from skelloc.viz._common import new_figure, require_matplotlib

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from skelloc.metrics.result import DetectionResult

__all__ = ["plot_class_ap", "plot_evaluation", "plot_map_vs_tiou"]

_BAR_COLOUR = "#4c72b0"
_ROW_IN = 0.22


def _name(label: Any, class_names: Mapping[Any, str] | None) -> str:
    if class_names is not None and label in class_names:
        return str(class_names[label])
    return f"class {label}" if isinstance(label, int) else str(label)


def _axes(ax: Axes | None, figsize: tuple[float, float], dpi: float) -> Axes:
    if ax is not None:
        return ax
    return new_figure(figsize, dpi).add_subplot()


def plot_map_vs_tiou(result: DetectionResult, *, ax: Axes | None = None,
                     figsize: tuple[float, float] = (5.0, 4.0), dpi: float = 100.0) -> Figure:
    """mAP against the tIoU threshold, with the protocol's extra curves (e.g. PKU-MMD's
    ``mAP_video``) dashed; values in percent. Draws into ``ax`` when given."""
    require_matplotlib()
    ax = _axes(ax, figsize, dpi)
    ts = list(result.thresholds)
    main = "mAP_action (present)" if result.protocol == "pkummd" else "mAP"
    ax.plot(ts, [100 * result.mAP[t] for t in ts], marker="o", lw=2, color=_BAR_COLOUR,
            label=f"{main} (avg {100 * result.average_mAP:.1f})")
    for name, values in result.extra.items():
        ax.plot(ts, [100 * values[t] for t in ts], marker=".", lw=1.2, ls="--", label=name)
    ax.set_xlabel("tIoU threshold")
    ax.set_ylabel("%")
    ax.set_ylim(0, 102)
    if len(ts) > 1:
        ax.set_xticks(ts)
        pad = (max(ts) - min(ts)) * 0.05
        ax.set_xlim(min(ts) - pad, max(ts) + pad)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"{result.protocol}: mAP vs tIoU", fontsize=10)
    return ax.figure  # type: ignore[return-value]


def plot_class_ap(result: DetectionResult, *, threshold: float | None = None,
                  class_names: Mapping[Any, str] | None = None, ax: Axes | None = None,
                  figsize: tuple[float, float] | None = None, dpi: float = 100.0) -> Figure:
    """Per-class AP as horizontal bars, best class on top.

    The bar is the AP at ``threshold``, or (default) the mean over the result's thresholds, in
    which case a tick per threshold marks the AP there (darker = stricter). ``class_names``
    maps labels (e.g. PKU-MMD class ids) to names.
    """
    require_matplotlib()
    import matplotlib

    classes = result.classes
    if threshold is not None and threshold not in result.thresholds:
        raise ConfigError(f"threshold {threshold:g} is not one of the result's "
                          f"{', '.join(f'{t:g}' for t in result.thresholds)}")
    ts = [threshold] if threshold is not None else list(result.thresholds)
    values = {c: float(np.mean([result.per_class_ap[c][t] for t in ts])) for c in classes}
    order = sorted(classes, key=lambda c: (-_nan_low(values[c]), str(c)))
    if figsize is None:
        figsize = (6.0, max(3.0, 1.2 + _ROW_IN * len(order)))
    ax = _axes(ax, figsize, dpi)
    y = np.arange(len(order))[::-1]
    ax.barh(y, [100 * values[c] for c in order], color=_BAR_COLOUR, alpha=0.85, height=0.7)
    if len(ts) > 1:
        cmap = matplotlib.colormaps["viridis"]
        for j, t in enumerate(ts):
            colour = cmap(0.85 - 0.85 * j / (len(ts) - 1))
            ax.scatter([100 * result.per_class_ap[c][t] for c in order], y, marker="|",
                       s=110, linewidths=2, color=colour, zorder=3, label=f"tIoU {t:g}")
        # above the axis (under the title), never over a bar
        ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(ts),
                  frameon=False, handletextpad=0.2, columnspacing=1.0, borderaxespad=0.2)
    ax.set_yticks(y, [_name(c, class_names) for c in order], fontsize=8)
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xlabel("AP (%)" + (f" at tIoU {ts[0]:g}" if len(ts) == 1 else
                              f", bar = mean over tIoU {ts[0]:g}-{ts[-1]:g}"))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"per-class AP ({len(order)} classes)", fontsize=10,
                 pad=18 if len(ts) > 1 else 6)
    return ax.figure  # type: ignore[return-value]


def _nan_low(x: float) -> float:
    return -1.0 if math.isnan(x) else x


def plot_evaluation(result: DetectionResult, *, class_names: Mapping[Any, str] | None = None,
                    figsize: tuple[float, float] | None = None, dpi: float = 100.0) -> Figure:
    """One figure: mAP vs tIoU on the left, per-class AP bars on the right."""
    require_matplotlib()
    rows = len(result.classes)
    if figsize is None:
        figsize = (12.0, max(4.5, 1.4 + _ROW_IN * rows))
    fig = new_figure(figsize, dpi)
    left, right = fig.subplots(1, 2, width_ratios=[1.0, 1.3])
    plot_map_vs_tiou(result, ax=left)
    left.set_box_aspect(0.8)
    plot_class_ap(result, class_names=class_names, ax=right)
    fig.suptitle(f"{result.num_predictions} predictions, {result.num_ground_truth} ground-truth "
                 f"instances, {result.num_videos} videos", fontsize=10)
    return fig
