"""Inference-time rewriting: an equivalent, faster copy of a model for evaluation.

:func:`fuse_for_inference` deep-copies a :class:`~skelloc.models.localizer.Localizer` and rewrites
the copy; the original is never touched. What it does, each step kept only because
``benchmarks/bench_inference.py`` shows it pays (docs/PERFORMANCE.md):

* every eval-mode BatchNorm that follows a convolution is folded into it (``Conv → BN`` in an
  ``nn.Sequential``, 2s-AGCN/UNIK's ``unit_tcn`` and the attention units' BN, which is linear
  in the summed branch outputs), and dropouts become identities;
* a backbone may provide ``fuse_for_inference()`` returning an equivalent eval-only module;
  ST-GCN does (:class:`skelloc.models.stgcn.FusedSTGCN`: the adjacency times edge importance
  precomputed, channels-last activations, the graph convolution as one batched matmul and a
  dilated ``(1, K)`` convolution carrying the next BatchNorm, the diagonal subset as a 1×1
  convolution times a per-joint scale).

The result computes the same function as the original in eval mode (to float rounding, about
1e-6 relative) and is for inference only: its BatchNorms are gone, so it cannot be trained.
:func:`inference_model` keeps one fused copy per model and rebuilds it when any parameter or
buffer of the original changes (a float64 sum and sum of squares of every tensor, so an
in-place update is seen without torch's private version counters), when it moves to another
device, or when its modules are replaced.
"""

from __future__ import annotations

import copy
import itertools
import logging
import weakref
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fold_batchnorms", "fuse_for_inference", "inference_model", "is_fused"]

logger = logging.getLogger(__name__)

_CONVS = (nn.Conv1d, nn.Conv2d)
_BNS = (nn.BatchNorm1d, nn.BatchNorm2d)


def _bn_affine(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with ``bn(x) == x * scale + shift`` per channel (eval mode)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("a BatchNorm without running statistics cannot be folded")
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale, shift


def _foldable(bn: nn.Module) -> bool:
    return isinstance(bn, _BNS) and bn.running_mean is not None and bn.running_var is not None


def _fold_attention_bn(unit: Any) -> None:
    """``bn(Σ_i conv_d[i](z_i))`` → ``Σ_i conv_d'[i](z_i)`` (2s-AGCN / UNIK attention units)."""
    scale, shift = _bn_affine(unit.bn)
    for i, conv in enumerate(unit.conv_d):
        conv.weight.mul_(scale.view(-1, *([1] * (conv.weight.dim() - 1))))
        bias = conv.bias * scale if conv.bias is not None else torch.zeros_like(scale)
        if i == 0:
            bias = bias + shift
        conv.bias = nn.Parameter(bias)
    unit.bn = nn.Identity()


def fold_batchnorms(module: nn.Module) -> nn.Module:
    """Fold eval-mode BatchNorms into the convolutions before them, in place; returns ``module``.

    Handles ``nn.Sequential`` runs ``Conv → BN``, modules with ``conv`` and ``bn`` attributes
    applied in that order (``unit_tcn``), and attention graph units (``conv_d`` branches summed
    before ``bn``). Dropouts become identities. Everything else is left as it is.
    """
    from skelloc.models.agcn import AttentionGraphUnit, TemporalUnit

    with torch.no_grad():
        for sub in list(module.modules()):
            if isinstance(sub, nn.Sequential):
                names = list(sub._modules)
                for a, b in itertools.pairwise(names):
                    conv, bn = sub._modules[a], sub._modules[b]
                    if isinstance(conv, _CONVS) and _foldable(bn):
                        sub._modules[a] = fuse_conv_bn_eval(conv.eval(), cast(Any, bn).eval())
                        sub._modules[b] = nn.Identity()
                for name, child in sub._modules.items():
                    if isinstance(child, nn.Dropout):
                        sub._modules[name] = nn.Identity()
            elif isinstance(sub, TemporalUnit) and _foldable(sub.bn):
                sub.conv = fuse_conv_bn_eval(sub.conv.eval(), sub.bn.eval())
                sub.bn = nn.Identity()  # type: ignore[assignment]
            elif isinstance(sub, AttentionGraphUnit) and _foldable(sub.bn):
                _fold_attention_bn(sub)
    return module


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """An eval-only copy of ``model`` (a ``Localizer`` or a backbone) computing the same
    function faster; ``model`` itself is not modified."""
    fused: Any = copy.deepcopy(model).eval()
    encoder = getattr(fused, "encoder", None)
    if encoder is not None and hasattr(encoder, "fuse_for_inference"):
        fused.encoder = encoder.fuse_for_inference()
    elif encoder is None and hasattr(fused, "fuse_for_inference"):
        fused = fused.fuse_for_inference()
    fold_batchnorms(fused)
    for p in fused.parameters():
        p.requires_grad_(False)
    fused._skelloc_fused = True
    return fused


def is_fused(model: nn.Module) -> bool:
    """Whether ``model`` came from :func:`fuse_for_inference`."""
    return bool(getattr(model, "_skelloc_fused", False))


# --------------------------------------------------------------------------- cache
_CACHE: weakref.WeakKeyDictionary[nn.Module, tuple[Any, nn.Module]] = weakref.WeakKeyDictionary()


def _fingerprint(tensors: list[torch.Tensor]) -> list[float]:
    """The sum and the sum of squares of every tensor, in float64: any real weight update
    (an optimiser step, a scaling, a load) changes them. One host transfer per device."""
    out: list[float] = []
    with torch.no_grad():
        for device in dict.fromkeys(t.device for t in tensors):
            sums = [torch.stack([x.sum(), x.square().sum()])
                    for x in (t.detach().double() for t in tensors if t.device == device)]
            out += torch.stack(sums).flatten().tolist()
    return out


def _state_key(model: nn.Module) -> tuple[Any, ...]:
    """Changes whenever a parameter or buffer of ``model`` is replaced, moved or updated, from
    public tensor properties and a content fingerprint (no autograd version counters, so it
    works for tensors made under ``torch.inference_mode`` too)."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    layout = tuple((name, t.data_ptr(), t.device, t.dtype, tuple(t.shape)) for name, t in tensors)
    return (layout, tuple(_fingerprint([t for _, t in tensors])),
            tuple(type(m).__name__ for m in model.modules()))


def inference_model(model: nn.Module) -> nn.Module:
    """The cached fused copy of ``model`` (rebuilt when the model changed); ``model`` itself
    when fusing is not possible (e.g. a BatchNorm without running statistics)."""
    if is_fused(model):
        return model
    key = _state_key(model)
    hit = _CACHE.get(model)
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        fused = fuse_for_inference(model)
    except (ValueError, RuntimeError) as err:
        logger.warning("running the unfused model: %s", err)
        return model
    _CACHE[model] = (key, fused)
    return fused
