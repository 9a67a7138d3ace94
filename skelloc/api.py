"""The public inference functions: ``skelloc.predict_frames``, ``localize``, ``analyze`` and
``extract_features``.

This is the facade layer (docs/ARCHITECTURE.md): it turns ``model=None`` into the bundled
default and a name or path into :func:`skelloc.load` (:func:`resolve_model`), gathers the
keyword arguments into one :class:`~skelloc.inference.api.InferenceOptions` and calls
:mod:`skelloc.inference.api`, which only ever sees a loaded model.
"""

from __future__ import annotations

import logging
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import torch

from skelloc.hub.api import default_model_name, load
from skelloc.inference import api as _inference
from skelloc.inference.api import InferenceOptions, Localization, Precision, check_model
from skelloc.inference.segments import Segment
from skelloc.inference.validate import NonFinitePolicy, input_kind

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.models.localizer import Localizer

__all__ = ["analyze", "default_for", "extract_features", "localize", "predict_frames",
           "resolve_model"]

logger = logging.getLogger(__name__)


def default_for(seq: Any = None) -> str:
    """The name of the default model for ``seq``: the manifest's ``default_2d`` for 2D keypoints
    (:func:`~skelloc.inference.validate.input_kind`), else its ``default``; logged, so that
    every run says which model it used."""
    kind = "3d" if seq is None else input_kind(seq)
    name = default_model_name(kind)
    logger.info("no model named: using %s (the default for %s input)", name, kind.upper())
    return name


def resolve_model(model: Any = None, seq: Any = None) -> Localizer:
    """``None`` → the bundled default for ``seq``'s kind of input (:func:`default_for`: 2D
    keypoints get the manifest's ``default_2d``, anything else its ``default``);
    str/path → ``skelloc.load(model)``; a loaded model is returned as it is."""
    if model is None:
        return load(default_for(seq))
    if isinstance(model, (str, PathLike)):
        return load(str(model))
    return check_model(model)  # type: ignore[return-value]


def predict_frames(
    seq: Any,
    model: Any = None,
    *,
    fps: float | None = None,
    layout: str | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    window: int | None = None,
    overlap: int | None = None,
    nonfinite: NonFinitePolicy = "error",
    fuse: bool = True,
    precision: Precision = "fp32",
) -> np.ndarray:
    """Per-frame class probabilities ``(T_in, K+1)`` (background last) at the input's frames.

    Rows sum to one for a single-label model (softmax); a multi-label model
    (``model.output == "sigmoid"``) gives each class, background included, its own probability,
    so overlapping actions can all be high at once.

    Args:
        seq: ``(T, V, C)`` / ``(T, M, V, C)`` array or tensor, or a ``SkeletonSequence``.
        model: a ``Localizer``, a model name or path, or ``None`` for the bundled default.
        fps: the input's frame rate (default: the sequence's; for a raw array, 30 fps, with a
            ``FrameRateAssumedWarning``; never the model's rate).
        layout: the input's joint layout (default: the sequence's; for a raw array, the
            model's when the joint count matches).
        batch_size: windows per forward pass (default 1 on the CPU, 8 on a GPU).
        device: ``"cpu"``, ``"cuda"``...; default the model's device. CUDA falls back to the
            CPU with a warning when unavailable.
        window, overlap: sliding-window size and overlap in model frames (default: the model
            config's, else 1024 / 256).
        nonfinite: ``"error"`` or ``"interpolate"`` for NaN/inf coordinates.
        fuse: run the model's inference form (BatchNorms folded into the convolutions, the
            graph precomputed; same outputs to ~1e-6, about 2x faster on a CPU). ``False``
            runs the modules as they are (e.g. to debug a custom backbone).
        precision: ``"fp32"``, or ``"bf16"`` (bfloat16 autocast, meant for GPUs;
            probabilities then differ from fp32 by up to ~0.02).
    """
    options = InferenceOptions(fps, layout, batch_size, device, window, overlap, nonfinite,
                               fuse, precision)
    return _inference.predict_frames(seq, resolve_model(model, seq), options)


def analyze(
    seq: Any,
    model: Any = None,
    *,
    fps: float | None = None,
    layout: str | None = None,
    decoder: str | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    window: int | None = None,
    overlap: int | None = None,
    nonfinite: NonFinitePolicy = "error",
    fuse: bool = True,
    precision: Precision = "fp32",
    min_score: float | None = None,
    **decoder_args: Any,
) -> Localization:
    """Segments and per-frame probabilities from one forward pass (for plots and reports).

    Arguments are those of :func:`localize`; ``analyze(...).segments == localize(...)``.
    """
    options = InferenceOptions(fps, layout, batch_size, device, window, overlap, nonfinite,
                               fuse, precision)
    return _inference.analyze(seq, resolve_model(model, seq), options, decoder=decoder,
                              min_score=min_score, **decoder_args)


def localize(
    seq: Any,
    model: Any = None,
    *,
    fps: float | None = None,
    layout: str | None = None,
    decoder: str | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    window: int | None = None,
    overlap: int | None = None,
    nonfinite: NonFinitePolicy = "error",
    fuse: bool = True,
    precision: Precision = "fp32",
    min_score: float | None = None,
    **decoder_args: Any,
) -> list[Segment]:
    """Detect action segments.

    Segments scoring below ``min_score`` are dropped: by default the model's own output
    threshold (its inference default ``min_score``, chosen on its validation split as the
    score that maximises F1 at tIoU 0.5; 0 for a model without one). ``min_score=0`` returns
    every proposal, which is what mAP evaluation needs. A model's ``boundary_shift``
    inference default (seconds added to starts and ends, calibrated on its validation split)
    is applied to every segment.

    Probabilities are decoded at the model's frame rate (so the decoders' frame-count
    parameters mean the same for every input) and the segment bounds are then mapped to the
    input's frames (start rounded down, exclusive end up); ``start_s`` / ``end_s`` use the
    input's fps. The decoder is ``decoder``
    (``"proposals"`` or ``"argmax"``), else the model config's ``decoder`` (a name, or a dict
    with ``name`` and default arguments), else ``"proposals"`` (the paper's method);
    ``decoder_args`` go to it (see :mod:`skelloc.inference.decode`). Other arguments are as in
    :func:`predict_frames`. :func:`analyze` also returns the frame probabilities.
    """
    options = InferenceOptions(fps, layout, batch_size, device, window, overlap, nonfinite,
                               fuse, precision)
    return _inference.localize(seq, resolve_model(model, seq), options, decoder=decoder,
                               min_score=min_score, **decoder_args)


@overload
def extract_features(
    seq: Any, model: Any = ..., *, level: Literal["fused", "encoder"] | None = ...,
    fps: float | None = ..., layout: str | None = ..., native: Literal[False] = ...,
    batch_size: int | None = ..., device: str | torch.device | None = ...,
    window: int | None = ..., overlap: int | None = ..., nonfinite: NonFinitePolicy = ...,
    fuse: bool = ..., precision: Precision = ...,
) -> np.ndarray: ...


@overload
def extract_features(
    seq: Any, model: Any = ..., *, level: Literal["fused", "encoder"] | None = ...,
    fps: float | None = ..., layout: str | None = ..., native: Literal[True],
    batch_size: int | None = ..., device: str | torch.device | None = ...,
    window: int | None = ..., overlap: int | None = ..., nonfinite: NonFinitePolicy = ...,
    fuse: bool = ..., precision: Precision = ...,
) -> tuple[np.ndarray, float]: ...


def extract_features(
    seq: Any,
    model: Any = None,
    *,
    level: Literal["fused", "encoder"] | None = None,
    fps: float | None = None,
    layout: str | None = None,
    native: bool = False,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    window: int | None = None,
    overlap: int | None = None,
    nonfinite: NonFinitePolicy = "error",
    fuse: bool = True,
    precision: Precision = "fp32",
) -> np.ndarray | tuple[np.ndarray, float]:
    """Frame features ``(T_in, D)``: the head's fused map (``level="fused"``) or the encoder's
    last block, pooled over joints and persons (``level="encoder"``).

    With ``native=True`` the features stay at the model's native temporal stride and frame
    rate and ``(features (T_native, D), stride)`` is returned, ``stride`` being the number of
    *input* frames per feature row (``model stride × input fps / model fps``; feature ``i``
    starts at input frame ``i · stride``). Other arguments are as in :func:`predict_frames`.

    ``level=None`` (default) is ``"fused"`` for a model with a head and ``"encoder"`` for an
    encoder-only model (``head=None`` or loaded with ``load_head=False``).
    """
    options = InferenceOptions(fps, layout, batch_size, device, window, overlap, nonfinite,
                               fuse, precision)
    return _inference.extract_features(seq, resolve_model(model, seq), options, level=level,
                                       native=native)  # type: ignore[call-overload]
