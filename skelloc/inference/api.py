"""The inference API: frame probabilities, segments and features for any skeleton input.

Every function takes the same inputs (a ``(T, V, C)`` / ``(T, M, V, C)`` array or tensor,
or a :class:`~skelloc.skeleton.sequence.SkeletonSequence`), a loaded model (anything with the
:class:`FrameModel` members, e.g. a :class:`~skelloc.models.localizer.Localizer`) and the
:class:`InferenceOptions`. Inputs are validated and prepared (:mod:`skelloc.inference.validate`),
run through the model in batched sliding windows (:mod:`skelloc.inference.windowing`) and mapped
back to the *input's* frames: outputs have one row per input frame whatever the model's frame
rate.

This layer sits below :mod:`skelloc.models` and :mod:`skelloc.hub` (docs/ARCHITECTURE.md): it
never loads a model by name. The public functions :func:`skelloc.localize`,
:func:`skelloc.predict_frames`, ... (:mod:`skelloc.api`) resolve ``None`` or a name to a model
first and then call this module.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

import numpy as np
import torch

from skelloc.errors import ConfigError
from skelloc.inference.decode import Detection, decode
from skelloc.inference.segments import Segment
from skelloc.inference.validate import NonFinitePolicy, as_sequence, prepare_input
from skelloc.inference.windowing import WindowConfig, sliding_window_apply

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.model_config import InputSpec, ModelConfig
    from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "FrameModel",
    "InferenceOptions",
    "Localization",
    "analyze",
    "boundary_shift",
    "check_model",
    "extract_features",
    "localize",
    "boundary_shift",
    "map_to_input",
    "output_threshold",
    "predict_frames",
    "window_config",
]

logger = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]

DEFAULT_WINDOW = 1024
DEFAULT_OVERLAP = 256
#: windows per forward pass when ``batch_size`` is not given. On a CPU one window at a time
#: is fastest (its activations stay in cache; ``benchmarks/bench_inference.py --section
#: pipeline``, docs/PERFORMANCE.md); a GPU needs several to be busy.
DEFAULT_BATCH_SIZE = {"cpu": 1, "cuda": 8}


# --------------------------------------------------------------------------- model handling
class FrameModel(Protocol):
    """What this module needs of a model (a :class:`~skelloc.models.localizer.Localizer` has
    it all): ``model(x)`` gives frame logits ``(N, K+1, T)``, ``forward_features`` frame
    features, ``input_spec`` what to feed it. ``inference_form()`` (optional) returns the
    equivalent faster module to run (:mod:`skelloc.models.fuse`)."""

    input_spec: InputSpec
    labels: list[str]
    config: ModelConfig | None
    training: bool

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def forward_features(self, x: torch.Tensor, level: str = ..., native: bool = ...
                         ) -> torch.Tensor: ...

    def parameters(self, recurse: bool = ...) -> Iterator[torch.nn.Parameter]: ...

    def eval(self) -> Any: ...

    def train(self, mode: bool = ...) -> Any: ...

    def to(self, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class InferenceOptions:
    """How a model runs over a sequence: the keyword arguments shared by
    :func:`skelloc.predict_frames`, :func:`skelloc.localize`, :func:`skelloc.analyze` and
    :func:`skelloc.extract_features` (documented there)."""

    fps: float | None = None
    layout: str | None = None
    batch_size: int | None = None
    device: str | torch.device | None = None
    window: int | None = None
    overlap: int | None = None
    nonfinite: NonFinitePolicy = "error"
    fuse: bool = True
    precision: Precision = "fp32"

    @classmethod
    def split(
        cls, kwargs: Mapping[str, Any], base: InferenceOptions | None = None
    ) -> tuple[InferenceOptions, dict[str, Any]]:
        """``base`` (default: the defaults) updated with the options among ``kwargs``, and the
        other keyword arguments."""
        names = {f.name for f in fields(cls)}
        options = replace(base or cls(), **{k: v for k, v in kwargs.items() if k in names})
        return options, {k: v for k, v in kwargs.items() if k not in names}


def check_model(model: Any) -> FrameModel:
    """``model`` itself when it is a loaded model, else :class:`ConfigError`."""
    if isinstance(model, torch.nn.Module) and hasattr(model, "input_spec"):
        return model  # type: ignore[return-value]
    raise ConfigError(
        f"model must be a Localizer, a model name or path, or None, got {type(model).__name__}"
    )


def window_config(
    model: Any,
    window: int | None = None,
    overlap: int | None = None,
    batch_size: int | None = None,
    weighting: str | None = None,
    device: torch.device | str = "cpu",
) -> WindowConfig:
    """Window settings: explicit arguments, else the model config's ``window`` /
    ``window_overlap`` / ``window_weighting``, else 1024 / 256 / ``"average"`` frames at the
    model's frame rate; ``batch_size`` defaults to 1 window on the CPU and 8 on a GPU."""
    cfg = getattr(model, "config", None) or {}
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE["cpu" if torch.device(device).type == "cpu" else "cuda"]
    return WindowConfig(
        window=int(window if window is not None else cfg.get("window", DEFAULT_WINDOW)),
        overlap=int(overlap if overlap is not None else cfg.get("window_overlap", DEFAULT_OVERLAP)),
        batch_size=int(batch_size),
        weighting=(weighting or cfg.get("window_weighting", "average")),  # type: ignore[arg-type]
    )


def _resolve_device(model: torch.nn.Module, device: str | torch.device | None) -> torch.device:
    if device is None:
        param = next(iter(model.parameters()), None)
        return param.device if param is not None else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            logger.warning("device %r requested but CUDA is not available; running on the CPU",
                           str(device))
            return torch.device("cpu")
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
    return dev


@contextlib.contextmanager
def _inference_mode(model: torch.nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode, no autograd, on ``device``; the model's mode and device are restored after."""
    param = next(iter(model.parameters()), None)
    original = param.device if param is not None else device
    was_training = model.training
    model.eval()
    if original != device:
        model.to(device)
    try:
        with torch.inference_mode():
            yield
    finally:
        if original != device:
            model.to(original)
        model.train(was_training)


def _stride(model: Any) -> int:
    encoder = getattr(model, "encoder", None)
    return max(1, int(getattr(encoder, "total_stride", 1) or 1))


# --------------------------------------------------------------------------- running
@dataclass(frozen=True)
class _Run:
    """A prepared input and what maps the model's frames back to the input's."""

    prepared: SkeletonSequence
    input_frames: int
    input_fps: float


def _prepare(
    seq: Any, model: Any, fps: float | None, layout: str | None, nonfinite: NonFinitePolicy,
    device: torch.device | None = None,
) -> _Run:
    sequence = as_sequence(seq, layout=layout, fps=fps, nonfinite=nonfinite)
    # on a GPU, resampling and normalisation run there (they bound long inputs otherwise)
    prepared = prepare_input(sequence, model.input_spec, nonfinite=nonfinite,
                             device=device if device is not None and device.type != "cpu"
                             else None)
    return _Run(prepared, sequence.num_frames, float(prepared.meta["source_fps"]))


def _run_windows(
    model: Any,
    run: _Run,
    fn_name: Literal["logits", "features"],
    *,
    level: str = "fused",
    native: bool = False,
    device: torch.device,
    windows: WindowConfig,
    fuse: bool = True,
    precision: Precision = "fp32",
) -> tuple[np.ndarray, int]:
    """``(D, T_out)`` model output at the model's frame rate, and its stride.

    With ``fuse`` the windows run through the model's ``inference_form()`` when it has one
    (:func:`skelloc.models.fuse.inference_model`: BatchNorms folded, graph precomputed);
    ``precision="bf16"`` runs them under bfloat16 autocast."""
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    if fn_name == "logits" and getattr(model, "head", True) is None:
        raise ConfigError(
            "this model has no head (loaded with load_head=False); use extract_features(..., "
            "level='encoder') or load it with its head"
        )
    align = _stride(model)

    # On a GPU, bf16 runs a bf16 copy of the network (no cast kernel before every operation,
    # which made autocast slower than fp32 for small networks); elsewhere bf16 autocast.
    bf16_weights = precision == "bf16" and device.type == "cuda"
    with _inference_mode(model, device):
        inference_form = getattr(model, "inference_form", None) if fuse else None
        net = inference_form() if inference_form is not None else model
        if bf16_weights:
            net = bf16_copy(net)

        def fn(x: torch.Tensor) -> torch.Tensor:
            if bf16_weights:
                x = x.to(torch.bfloat16)
            with torch.autocast(device.type, torch.bfloat16,
                                enabled=precision == "bf16" and not bf16_weights):
                if fn_name == "logits":
                    return net(x).float()
                return net.forward_features(x, level=level, native=native).float()

        return sliding_window_apply(
            fn, run.prepared.joints, windows, align=align, min_frames=align, device=device
        )


def bf16_copy(net: torch.nn.Module) -> torch.nn.Module:
    """An eval-mode copy of ``net`` with bfloat16 parameters and buffers."""
    import copy

    return copy.deepcopy(net).eval().to(torch.bfloat16)


def map_to_input(values: np.ndarray, model_fps: float, input_fps: float, input_frames: int) -> np.ndarray:
    """Linearly interpolate ``(T_model, D)`` rows at ``model_fps`` to ``input_frames`` rows at
    ``input_fps`` (input frame ``j`` sits at model frame ``j · model_fps / input_fps``)."""
    if math.isclose(model_fps, input_fps, rel_tol=1e-9) and len(values) == input_frames:
        return values
    pos = np.arange(input_frames, dtype=np.float64) * (model_fps / input_fps)
    pos = np.clip(pos, 0, len(values) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(values) - 1)
    frac = (pos - lo)[:, None]
    out = values[lo] * (1.0 - frac) + values[hi] * frac
    return out.astype(values.dtype, copy=False)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the class axis of ``(K+1, T)`` logits, returned as ``(T, K+1)``."""
    z = logits.T.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """Independent per-class sigmoid of ``(K+1, T)`` logits, returned as ``(T, K+1)``."""
    z = logits.T.astype(np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)  # no overflow for large |z|


def _activate(logits: np.ndarray, model: Any) -> np.ndarray:
    """The model's own probabilities: softmax, or per-class sigmoid for multi-label models."""
    return _sigmoid(logits) if getattr(model, "output", "softmax") == "sigmoid" else \
        _softmax(logits)


def _probabilities(
    seq: Any, model: Any, options: InferenceOptions
) -> tuple[FrameModel, _Run, np.ndarray]:
    """The model, the prepared run and ``(T_model, K+1)`` probabilities at the model's rate."""
    net = check_model(model)
    dev = _resolve_device(net, options.device)  # type: ignore[arg-type]
    run = _prepare(seq, net, options.fps, options.layout, options.nonfinite, dev)
    windows = window_config(net, options.window, options.overlap, options.batch_size, device=dev)
    logits, _ = _run_windows(net, run, "logits", device=dev, windows=windows, fuse=options.fuse,
                             precision=options.precision)
    return net, run, _activate(logits, net)


# --------------------------------------------------------------------------- the API
def predict_frames(
    seq: Any, model: Any, options: InferenceOptions | None = None, **kwargs: Any
) -> np.ndarray:
    """Per-frame class probabilities ``(T_in, K+1)`` (background last) at the input's frames
    (see :func:`skelloc.predict_frames`). Keyword arguments override fields of ``options``."""
    opts, rest = InferenceOptions.split(kwargs, options)
    if rest:
        raise TypeError(f"predict_frames() got unexpected keyword arguments {sorted(rest)}")
    net, run, probs = _probabilities(seq, model, opts)
    return map_to_input(probs, float(net.input_spec.fps), run.input_fps, run.input_frames)


@dataclass(frozen=True)
class Localization:
    """What :func:`analyze` returns: the segments and the frame probabilities they came from.

    ``probs`` is ``(T_in, K+1)`` at the input's frames (background last), ``labels`` the K
    class names and ``fps`` the input's frame rate.
    """

    segments: list[Segment]
    probs: np.ndarray
    labels: list[str]
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.probs.shape[0])


def analyze(
    seq: Any,
    model: Any,
    options: InferenceOptions | None = None,
    *,
    decoder: str | None = None,
    min_score: float | None = None,
    **kwargs: Any,
) -> Localization:
    """Segments and per-frame probabilities from one forward pass (see :func:`skelloc.analyze`).
    Keyword arguments override fields of ``options``; the others go to the decoder."""
    opts, decoder_args = InferenceOptions.split(kwargs, options)
    net, run, probs = _probabilities(seq, model, opts)
    model_fps = float(net.input_spec.fps)
    segments = _decode(net, run, probs, decoder, decoder_args, min_score)
    return Localization(
        segments=segments,
        probs=map_to_input(probs, model_fps, run.input_fps, run.input_frames),
        labels=[str(x) for x in getattr(net, "labels", [])],
        fps=run.input_fps,
    )


def localize(
    seq: Any,
    model: Any,
    options: InferenceOptions | None = None,
    *,
    decoder: str | None = None,
    min_score: float | None = None,
    **kwargs: Any,
) -> list[Segment]:
    """Detect action segments (see :func:`skelloc.localize`). Keyword arguments override fields
    of ``options``; the others go to the decoder."""
    opts, decoder_args = InferenceOptions.split(kwargs, options)
    net, run, probs = _probabilities(seq, model, opts)
    return _decode(net, run, probs, decoder, decoder_args, min_score)


@overload
def extract_features(
    seq: Any, model: Any, options: InferenceOptions | None = ..., *,
    level: Literal["fused", "encoder"] | None = ..., native: Literal[False] = ..., **kwargs: Any,
) -> np.ndarray: ...


@overload
def extract_features(
    seq: Any, model: Any, options: InferenceOptions | None = ..., *,
    level: Literal["fused", "encoder"] | None = ..., native: Literal[True], **kwargs: Any,
) -> tuple[np.ndarray, float]: ...


def extract_features(
    seq: Any,
    model: Any,
    options: InferenceOptions | None = None,
    *,
    level: Literal["fused", "encoder"] | None = None,
    native: bool = False,
    **kwargs: Any,
) -> np.ndarray | tuple[np.ndarray, float]:
    """Frame features ``(T_in, D)``, or ``(features (T_native, D), stride)`` with
    ``native=True`` (see :func:`skelloc.extract_features`). Keyword arguments override fields
    of ``options``. ``level=None`` is ``"fused"`` for a model with a head and ``"encoder"`` for
    an encoder-only model."""
    if level not in (None, "fused", "encoder"):
        raise ConfigError(f"level must be 'fused' or 'encoder', got {level!r}")
    opts, rest = InferenceOptions.split(kwargs, options)
    if rest:
        raise TypeError(f"extract_features() got unexpected keyword arguments {sorted(rest)}")
    net = check_model(model)
    if level is None:
        level = "encoder" if getattr(net, "head", None) is None else "fused"
    dev = _resolve_device(net, opts.device)  # type: ignore[arg-type]
    run = _prepare(seq, net, opts.fps, opts.layout, opts.nonfinite, dev)
    windows = window_config(net, opts.window, opts.overlap, opts.batch_size, device=dev)
    feats, stride = _run_windows(
        net, run, "features", level=level, native=native, device=dev, windows=windows,
        fuse=opts.fuse, precision=opts.precision,
    )
    model_fps = float(net.input_spec.fps)
    if native:
        return feats.T.copy(), stride * run.input_fps / model_fps
    return map_to_input(feats.T, model_fps, run.input_fps, run.input_frames)


# --------------------------------------------------------------------------- decoding helpers
def _decode(
    net: Any, run: _Run, probs: np.ndarray, decoder: str | None, decoder_args: dict[str, Any],
    min_score: float | None = None,
) -> list[Segment]:
    """Decode model-rate probabilities, map the segments to the input's frames (with the
    model's boundary calibration) and keep those scoring at least the output threshold."""
    name, args = _decoder_choice(net, decoder, decoder_args)
    threshold = output_threshold(net, min_score)
    segments = _to_segments(decode(probs, name, **args), net, float(net.input_spec.fps), run,
                            boundary_shift(net))
    return [s for s in segments if s.score >= threshold]


def _inference_default(model: Any, key: str) -> Any:
    cfg = getattr(model, "config", None)
    return cfg.get(key) if cfg is not None else None


def output_threshold(model: Any, min_score: float | None = None) -> float:
    """``min_score`` if given, else the model's inference default ``min_score``, else 0."""
    value = _inference_default(model, "min_score") if min_score is None else min_score
    try:
        threshold = float(0.0 if value is None else value)
    except (TypeError, ValueError):
        raise ConfigError(f"min_score must be a number, got {value!r}") from None
    if not math.isfinite(threshold):
        raise ConfigError(f"min_score must be a finite number, got {value!r}")
    return threshold


def boundary_shift(model: Any) -> tuple[float, float]:
    """The model's boundary calibration: seconds added to segment ``(start, end)``."""
    value = _inference_default(model, "boundary_shift")
    if value is None:
        return (0.0, 0.0)
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"boundary_shift must be [start_seconds, end_seconds], got {value!r}") from None
    return (start, end)


def _decoder_choice(
    model: Any, decoder: str | None, decoder_args: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    cfg = getattr(model, "config", None) or {}
    configured = cfg.get("decoder")
    base: dict[str, Any] = {}
    name = "proposals"
    if isinstance(configured, str):
        name = configured
    elif isinstance(configured, dict):
        name = str(configured.get("name", name))
        base = {k: v for k, v in configured.items() if k != "name"}
    if decoder is not None:
        if decoder != name:
            base = {}  # the configured arguments belong to the configured decoder
        name = decoder
    args = {**base, **decoder_args}
    if name == "proposals" and "thresholds" not in args and \
            getattr(model, "output", "softmax") == "sigmoid":
        from skelloc.inference.decode import SIGMOID_THRESHOLDS

        args["thresholds"] = SIGMOID_THRESHOLDS  # per-class probabilities are not diluted
    return name, args


def _to_segments(
    detections: list[Detection], model: Any, model_fps: float, run: _Run,
    shift: tuple[float, float] = (0.0, 0.0),
) -> list[Segment]:
    from skelloc.skeleton.resample import map_frames

    labels = list(getattr(model, "labels", []) or [])
    out: list[Segment] = []
    for det in detections:
        # model frames (+ the calibration) -> input frames, keeping the segment's full extent
        start = map_frames(det.start + shift[0] * model_fps, model_fps, run.input_fps, "floor")
        end = map_frames(det.end + shift[1] * model_fps, model_fps, run.input_fps, "ceil")
        start = min(max(start, 0), run.input_frames - 1)
        end = min(max(end, start + 1), run.input_frames)
        label = labels[det.label_id] if det.label_id < len(labels) else f"class_{det.label_id}"
        out.append(
            Segment(
                label=label,
                label_id=det.label_id,
                start=start,
                end=end,
                start_s=start / run.input_fps,
                end_s=end / run.input_fps,
                score=det.score,
            )
        )
    return out
