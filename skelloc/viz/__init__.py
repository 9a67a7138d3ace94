"""Pictures of localisation results (the ``viz`` extra: ``pip install "skelloc[viz]"``).

Every function returns a :class:`matplotlib.figure.Figure` (the skeleton animation a
:class:`matplotlib.animation.FuncAnimation`), so notebooks can show or restyle it;
:func:`save_figure` and :func:`save_animation` write files atomically, the format from the
suffix. Importing this package does not import matplotlib; calling a plot function without it
raises :class:`skelloc.errors.MissingDependencyError`.

- :func:`plot_timeline`: class probabilities over time, predicted segments, ground truth.
- :func:`animate_skeleton` / :func:`save_animation`: the skeleton with the current predicted
  and ground-truth labels as captions (``.gif`` via Pillow, ``.mp4`` via ffmpeg).
- :func:`plot_evaluation`, :func:`plot_class_ap`, :func:`plot_map_vs_tiou`: detection mAP.
- :func:`read_ground_truth`: a PKU-MMD label file as segments of the model's labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports

# public name -> "module" (the attribute of the same name) or "module:attribute"
_LAZY: dict[str, str] = {
    "plot_timeline": "skelloc.viz.timeline",
    "select_classes": "skelloc.viz.timeline",
    "animate_skeleton": "skelloc.viz.skeleton",
    "save_animation": "skelloc.viz.skeleton",
    "frame_indices": "skelloc.viz.skeleton",
    "animation_format": "skelloc.viz.skeleton",
    "plot_evaluation": "skelloc.viz.evaluation",
    "plot_class_ap": "skelloc.viz.evaluation",
    "plot_map_vs_tiou": "skelloc.viz.evaluation",
    "read_ground_truth": "skelloc.viz.groundtruth",
    "instances_to_segments": "skelloc.viz.groundtruth",
    "save_figure": "skelloc.viz._common",
    "figure_format": "skelloc.viz._common",
    "class_color": "skelloc.viz._common",
}

__all__ = [
    "animate_skeleton",
    "animation_format",
    "class_color",
    "figure_format",
    "frame_indices",
    "instances_to_segments",
    "plot_class_ap",
    "plot_evaluation",
    "plot_map_vs_tiou",
    "plot_timeline",
    "read_ground_truth",
    "save_animation",
    "save_figure",
    "select_classes",
]

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.viz._common import class_color, figure_format, save_figure
    from skelloc.viz.evaluation import plot_class_ap, plot_evaluation, plot_map_vs_tiou
    from skelloc.viz.groundtruth import instances_to_segments, read_ground_truth
    from skelloc.viz.skeleton import (
        animate_skeleton,
        animation_format,
        frame_indices,
        save_animation,
    )
    from skelloc.viz.timeline import plot_timeline, select_classes


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
