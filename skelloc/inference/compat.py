"""Whether a model can take a skeleton sequence at all: 2D keypoints versus 3D joints.

A model of 3D joints (x, y, z) cannot use 2D keypoints (x, y, score) from a pose estimator:
run as if they were 3D, they give no segment at all (the "z" is a detection score), and the
NTU normalisation fails on them in odd places.  :func:`check_accepts` tells the two apart
before any work and raises one :class:`~skelloc.errors.InputKindError` naming the remedy;
:func:`accepts` answers the same question without raising, so that a caller can pick a model
that fits (for instance a 2D default model for 2D input).

The coordinate count of an input (:func:`coordinate_channels`):

- a sequence with ``meta["confidence"] = True`` (pose-estimator readers set it): channels - 1;
- a bare 3-channel sequence in a pose-estimator layout (``coco17``, ``openpose18``,
  ``body25``) whose third channel lies in [0, 1] everywhere: (x, y, score), so 2 -- what MMPose,
  OpenPose and most COCO-style tools write.  ``meta["confidence"] = False`` says the third
  channel really is z;
- else the channel count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skelloc.errors import InputKindError, in_cli_words
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = ["coordinate_channels", "model_coordinates", "accepts", "check_accepts",
           "KEYPOINT_LAYOUTS"]

#: layouts of 2D pose estimators: three channels in them are usually (x, y, score)
KEYPOINT_LAYOUTS = ("coco17", "openpose18", "body25")


def _canonical(layout: str) -> str:
    from skelloc.skeleton.layouts import get_layout

    try:
        return get_layout(layout).name
    except (KeyError, LookupError, ValueError):
        return layout


def _scores_like(channel: np.ndarray) -> bool:
    finite = channel[np.isfinite(channel)]
    return bool(finite.size) and bool(finite.min() >= 0.0) and bool(finite.max() <= 1.0)


def coordinate_channels(seq: SkeletonSequence) -> int:
    """Spatial coordinates per joint of ``seq``: 2 for keypoints, 3 for joints in space."""
    channels = int(seq.joints.shape[-1])
    confidence = seq.meta.get("confidence")
    if confidence:
        return channels - 1
    if (confidence is None and channels == 3 and _canonical(seq.layout) in KEYPOINT_LAYOUTS
            and _scores_like(seq.joints[..., 2])):
        return 2
    return channels


def model_coordinates(spec: Any) -> int:
    """Spatial coordinates per joint a model's ``InputSpec`` takes (a score channel aside)."""
    return int(spec.channels) - (1 if getattr(spec, "confidence", False) else 0)


def accepts(spec: Any, seq: SkeletonSequence) -> str | None:
    """``None`` when a model with input spec ``spec`` can take ``seq``, else the reason."""
    have, want = coordinate_channels(seq), model_coordinates(spec)
    if have >= want or have < 2:
        return None  # extra channels and odd shapes are prepare_input's to judge
    layout = _canonical(seq.layout)
    kind = f"2D keypoints (x, y{', score' if seq.joints.shape[-1] > have else ''})"
    return (f"the model takes {want}D joints (x, y, z: {want} channels per joint, layout "
            f"{spec.layout}) and the input is {kind} in layout {layout}, e.g. from a pose "
            f"estimator (shape {tuple(seq.joints.shape)}); a {want}D model cannot use it")


def check_accepts(spec: Any, seq: SkeletonSequence) -> None:
    """Raise :class:`InputKindError` (one message with the remedy) unless the model fits."""
    reason = accepts(spec, seq)
    if reason is None:
        return
    remedy = ("; use a model that takes 2D keypoints (model='NAME'; skelloc.list_models() "
              "shows each model's input) or lift the keypoints to 3D first")
    raise in_cli_words(InputKindError(reason + remedy),
                       ("model='NAME'; skelloc.list_models()", "--model NAME; skelloc list"))
