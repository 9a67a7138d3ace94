"""What the pretraining and finetuning loops share: model construction, batch plans, init."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import torch

from skelloc.errors import IncompatibleWeightsError, WeightsNotFoundError
from skelloc.models.weights import load_torch_file, read_state_dict
from skelloc.train.config import TrainConfig
from skelloc.train.data import SkeletonCache
from skelloc.train.runtime import Dist, step_generator

__all__ = [
    "batch_items",
    "build_from_hub",
    "build_model",
    "init_encoder",
    "input_spec",
    "is_hub_init",
    "load_encoder_state",
    "open_cache",
    "steps_per_epoch",
]

logger = logging.getLogger(__name__)


def open_cache(cfg: TrainConfig) -> SkeletonCache:
    return SkeletonCache(cfg.data.path, fps=cfg.data.source_fps, layout=cfg.data.layout)


def input_spec(cfg: TrainConfig, cache: SkeletonCache) -> Any:
    from skelloc.model_config import InputSpec

    channels = int(cfg.model.model_args.get("in_channels", 3))
    from skelloc.skeleton.layouts import get_layout

    layout = str(cfg.model.model_args.get("layout", cfg.data.layout))
    return InputSpec(layout=layout, num_joints=len(get_layout(layout).joint_names),
                     channels=channels, fps=float(cfg.data.fps or cache.fps),
                     normalization=cfg.data.normalization, max_persons=cfg.data.max_persons,
                     confidence=bool(cache.confidence if cfg.data.confidence is None
                                     else cfg.data.confidence))


def build_model(cfg: TrainConfig, cache: SkeletonCache, head: bool = True) -> Any:
    """A fresh :class:`~skelloc.models.localizer.Localizer` for ``cfg`` (encoder only when
    ``head`` is false)."""
    from skelloc.models.factory import create_model

    spec = input_spec(cfg, cache)
    model_args = dict(cfg.model.model_args)
    model_args.setdefault("layout", spec.layout)
    if head and cfg.model.head is not None:
        return create_model(cfg.model.architecture, head=cfg.model.head, labels=cache.classes,
                            input_spec=spec, head_args=head_arguments(cfg),
                            output=cfg.model.output, **model_args)
    return create_model(cfg.model.architecture, head=None, input_spec=spec, **model_args)


def head_arguments(cfg: TrainConfig) -> dict[str, Any]:
    """``model.head_args`` for the chosen head: either a flat table, or one table per head name
    (``[model.head_args.ufusion]``), so that ``--set model.head=simple`` needs no other change."""
    args = dict(cfg.model.head_args)
    if args and all(isinstance(v, dict) for v in args.values()):
        return dict(args.get(str(cfg.model.head), {}))
    return args


def steps_per_epoch(num_items: int, batch_size: int, d: Dist) -> int:
    return max(1, math.ceil(num_items / (batch_size * d.world_size)))


def batch_items(num_items: int, epoch: int, index: int, batch_size: int, d: Dist,
                seed: int, tag: str) -> list[int]:
    """This process's item indices for batch ``index`` of ``epoch``: a seeded permutation per
    epoch, split into global batches of ``batch_size × world_size`` (the last one wraps)."""
    perm = torch.randperm(num_items, generator=step_generator(seed, tag, "perm", epoch))
    start = (index * d.world_size + d.rank) * batch_size
    return perm[(start + torch.arange(batch_size)) % num_items].tolist()


def load_encoder_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Encoder weights from a pretraining result, a training checkpoint or a saved model.

    Accepts ``.safetensors`` files (keys ``encoder_q.*`` from pretraining, or ``encoder.*``
    from :meth:`Localizer.save`), a model directory with ``encoder.safetensors``, or a
    ``checkpoint.pt`` of either loop. Key encoder, projection heads and queues are dropped.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "pretrain.safetensors").is_file():
            p = p / "pretrain.safetensors"
        elif (p / "encoder.safetensors").is_file():
            return read_state_dict(p / "encoder.safetensors")
        else:
            raise WeightsNotFoundError(f"no pretrain.safetensors or encoder.safetensors in {p}")
    if not p.is_file():
        raise WeightsNotFoundError(f"init checkpoint {p} does not exist")
    if p.suffix == ".safetensors":
        state = read_state_dict(p)
    else:
        ckpt = load_torch_file(p, "checkpoint")
        state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else {}
    for prefix in ("encoder_q.", "encoder."):
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if sub:
            return sub
    raise IncompatibleWeightsError(f"{p} holds no encoder_q.* or encoder.* weights")


def init_encoder(model: Any, path: str | Path) -> None:
    """Load encoder weights into ``model.encoder`` (strict: every key and shape must match)."""
    state = load_encoder_state(path)
    own = model.encoder.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise IncompatibleWeightsError(
            f"encoder weights in {path} do not fit the model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, shape mismatch {wrong[:5]}")
    model.encoder.load_state_dict(state)
    logger.info("initialised the encoder from %s (%d tensors)", path, len(state))


def model_metadata(model: Any) -> dict[str, str]:
    """safetensors metadata describing the encoder (for pretraining results)."""
    cfg = model.config.to_dict() if model.config is not None else {}
    return {"format": "pt", "skelloc.component": "pretrain",
            "skelloc.model_args": json.dumps(cfg, sort_keys=True),
            "skelloc.input_spec": json.dumps(model.input_spec.to_dict(), sort_keys=True)}


def is_hub_init(init: str | Path | None) -> bool:
    """``init`` names a hub model (not an existing file or folder)."""
    if init is None or Path(init).exists():
        return False
    from skelloc.hub.manifest import registry

    try:
        registry().canonical(str(init))
    except KeyError:
        return False
    return True


def _cache_coordinates(cache: SkeletonCache) -> int:
    import numpy as np

    first = cache.videos[0].id if cache.videos else None
    if first is None:
        return 3
    arr = np.load(cache.skeleton_dir / f"{first}.npy", mmap_mode="r")
    return int(arr.shape[-1]) - (1 if cache.confidence else 0)


def build_from_hub(cfg: TrainConfig, cache: SkeletonCache, name: str) -> Any:
    """A model whose encoder is the hub model ``name`` (fetched and verified like
    :func:`skelloc.load`) and whose head is new, for the cache's classes; ``cfg.model`` and
    ``cfg.data``'s input settings are set to the encoder's (so ``config.json`` says what ran).

    Raises:
        LayoutMismatchError: no conversion from the cache's layout to the encoder's (the
            message lists the layouts that work), or 2D data for a 3D encoder (and back).
    """
    from skelloc.errors import LayoutMismatchError
    from skelloc.hub.api import load
    from skelloc.models.factory import create_model
    from skelloc.skeleton.convert import get_conversion
    from skelloc.skeleton.layouts import get_layout, list_layouts

    enc = load(name, load_head=False)
    enc_config = enc.config
    assert enc_config is not None  # hub models always carry their config
    spec = enc.input_spec
    src, dst = get_layout(cache.layout).name, get_layout(spec.layout).name

    def converts(layout: str) -> bool:
        try:
            get_conversion(layout, dst)
        except Exception:  # noqa: BLE001 - ConfigError or a bad table: not convertible
            return False
        return True

    if not converts(src):
        works = [lay for lay in list_layouts() if converts(lay)]
        raise LayoutMismatchError(
            f"{name} takes layout {dst!r} and no conversion from the data's {src!r} exists; "
            f"layouts that work: {', '.join(works)}")
    have = _cache_coordinates(cache)
    want = spec.channels - (1 if getattr(spec, "confidence", False) else 0)
    if have != want:
        raise LayoutMismatchError(
            f"{name} takes {want}D joints and the data has {have} coordinate channels; pick a "
            f"{have}D model (skelloc list) or omit --init")
    model = create_model(enc_config.architecture, head=cfg.model.head, labels=cache.classes,
                         input_spec=spec, head_args=head_arguments(cfg),
                         output=cfg.model.output, **dict(enc_config.model_args))
    model.encoder.load_state_dict(enc.encoder.state_dict())
    cfg.model.architecture = enc_config.architecture
    cfg.model.model_args = dict(enc_config.model_args)
    cfg.data.layout, cfg.data.fps = spec.layout, float(spec.fps)
    cfg.data.normalization, cfg.data.max_persons = spec.normalization, spec.max_persons
    logger.info("initialised the encoder from hub model %s (%s, layout %s%s)", name,
                enc_config.architecture, dst,
                f", converted from {src}" if src != dst else "")
    return model

