"""Checkpoint converters: key mapping and argument inference per source."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skelloc.errors import ConfigError, IncompatibleWeightsError
from skelloc.models.weights import load_into, read_state_dict
from skelloc.skeleton.layouts import LAYOUT_BY_JOINTS

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

    from skelloc.models.localizer import Localizer

__all__ = ["CONVERTERS", "ConversionResult", "convert_state_dict", "convert_checkpoint"]

log = logging.getLogger(__name__)



@dataclass
class ConversionResult:
    """What a converter produced: the model arguments, the encoder tensors and what was dropped."""

    source: str
    architecture: str
    model_args: dict[str, Any]
    encoder_state: dict[str, Tensor]
    dropped: list[str] = field(default_factory=list)


def _take(sd: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def _layout(num_joints: int, layout: str | None) -> str:
    if layout is not None:
        return layout
    try:
        return LAYOUT_BY_JOINTS[num_joints]
    except KeyError:
        raise ConfigError(f"cannot guess the skeleton layout of a {num_joints}-joint checkpoint; "
                          "pass layout=...") from None


def _stgcn(sd: Mapping[str, Tensor], source: str, layout: str | None,
           stride_blocks: Sequence[int] | None) -> ConversionResult:
    enc = {k: v for k, v in sd.items() if not k.startswith("fcn.")}
    dropped = sorted(k for k in sd if k.startswith("fcn."))
    blocks = sorted({int(m.group(1)) for k in enc
                     if (m := re.match(r"st_gcn_networks\.(\d+)\.", k))})
    if not blocks:
        raise IncompatibleWeightsError(f"{source}: no st_gcn_networks.* keys; not an ST-GCN "
                                       f"checkpoint (keys: {', '.join(sorted(sd)[:6])} ...)")
    widths = [int(enc[f"st_gcn_networks.{i}.tcn.2.weight"].shape[0]) for i in blocks]
    conv0 = enc["st_gcn_networks.0.gcn.conv.weight"]
    kernel = int(enc["st_gcn_networks.0.tcn.2.weight"].shape[2])
    if "A" in enc:
        num_joints = int(enc["A"].shape[-1])
    elif "edge_importance.0" in enc:
        num_joints = int(enc["edge_importance.0"].shape[-1])
    else:
        raise IncompatibleWeightsError(f"{source}: no graph 'A' to infer the joint count")
    args: dict[str, Any] = {
        "in_channels": int(conv0.shape[1]), "layout": _layout(num_joints, layout),
        "channels": widths, "temporal_kernel": kernel,
        "edge_importance": "edge_importance.0" in enc, "data_bn": "data_bn.weight" in enc,
    }
    if stride_blocks is not None:
        args["stride_blocks"] = [int(b) for b in stride_blocks]
    return ConversionResult(source, "stgcn", args, enc, dropped)


def _agcn(sd: Mapping[str, Tensor], source: str, layout: str | None,
          stride_blocks: Sequence[int] | None, default_strides: Sequence[int] | None
          ) -> ConversionResult:
    enc = {k: v for k, v in sd.items() if re.match(r"(l\d+|data_bn)\.", k)}
    dropped = sorted(k for k in sd if k not in enc)
    blocks = sorted({int(m.group(1)) for k in enc if (m := re.match(r"l(\d+)\.", k))})
    if not blocks:
        raise IncompatibleWeightsError(f"{source}: no l1..l10 keys; not a 2s-AGCN checkpoint "
                                       f"(keys: {', '.join(sorted(sd)[:6])} ...)")
    widths = [int(enc[f"l{i}.tcn1.conv.weight"].shape[0]) for i in blocks]
    in_ch = int(enc["l1.gcn1.conv_d.0.weight"].shape[1])
    pa = enc["l1.gcn1.PA"]
    inter = int(enc["l1.gcn1.conv_a.0.weight"].shape[0])
    args: dict[str, Any] = {
        "in_channels": in_ch, "layout": _layout(int(pa.shape[-1]), layout), "channels": widths,
        "temporal_kernel": int(enc["l1.tcn1.conv.weight"].shape[2]),
        "coff_embedding": max(1, widths[0] // inter), "data_bn": "data_bn.weight" in enc,
    }
    if args["data_bn"]:
        args["num_person"] = int(enc["data_bn.weight"].numel()) // (in_ch * int(pa.shape[-1]))
    if stride_blocks is None:
        stride_blocks = default_strides
    if stride_blocks is not None:
        args["stride_blocks"] = [int(b) for b in stride_blocks]
    return ConversionResult(source, "agcn", args, enc, dropped)


def _from_stgcn(sd: Mapping[str, Tensor], source: str, layout: str | None,
                stride_blocks: Sequence[int] | None) -> ConversionResult:
    return _stgcn(sd, source, layout, stride_blocks)


def _from_clr(sd: Mapping[str, Tensor], source: str, layout: str | None,
              stride_blocks: Sequence[int] | None) -> ConversionResult:
    inner = _take(sd, "encoder_q.")
    if not inner:
        raise IncompatibleWeightsError(f"{source}: no encoder_q.* keys; not an AimCLR / "
                                       "CrosSCLR / RVTCLR checkpoint")
    kept = {k: v for k, v in inner.items() if not k.startswith("fc.")}
    res = _stgcn(kept, source, layout, stride_blocks)
    res.dropped = sorted(k for k in sd if not (k.startswith("encoder_q.") and
                                              k[len("encoder_q."):] in res.encoder_state))
    return res


def _from_snipclr(sd: Mapping[str, Tensor], source: str, layout: str | None,
                  stride_blocks: Sequence[int] | None) -> ConversionResult:
    prefix = "encoder_q.agcn." if any(k.startswith("encoder_q.agcn.") for k in sd) else "agcn."
    inner = _take(sd, prefix)
    if not inner:
        raise IncompatibleWeightsError(f"{source}: no encoder_q.agcn.* or agcn.* keys; not a "
                                       "SnipCLR checkpoint")
    res = _agcn(inner, source, layout, stride_blocks, (2, 5, 8))
    res.dropped = sorted(k for k in sd if not (k.startswith(prefix) and
                                              k[len(prefix):] in res.encoder_state))
    return res


def _from_agcn(sd: Mapping[str, Tensor], source: str, layout: str | None,
               stride_blocks: Sequence[int] | None) -> ConversionResult:
    return _agcn(sd, source, layout, stride_blocks, (5, 8))


CONVERTERS: dict[str, Callable[..., ConversionResult]] = {
    "stgcn": _from_stgcn,
    "aimclr": _from_clr,
    "crossclr": _from_clr,
    "rvtclr": _from_clr,
    "snipclr": _from_snipclr,
    "agcn": _from_agcn,
}


def convert_state_dict(kind: str, state: Mapping[str, Tensor], *, layout: str | None = None,
                       stride_blocks: Sequence[int] | None = None,
                       source: str = "checkpoint") -> Localizer:
    """Build an encoder-only skelloc model from an original state dict (loaded strictly)."""
    from skelloc.models.factory import create_model
    from skelloc.models.weights import clean_state_dict

    try:
        converter = CONVERTERS[kind]
    except KeyError:
        raise ConfigError(f"unknown checkpoint kind {kind!r}; choose one of "
                          f"{', '.join(sorted(CONVERTERS))}") from None
    sd = clean_state_dict(state, source=source)
    res = converter(sd, source, layout, stride_blocks)
    model = create_model(res.architecture, head=None, **res.model_args)
    load_into(model.encoder, res.encoder_state, what=f"{kind} encoder", source=source)
    if res.dropped:
        log.info("%s: dropped %d tensors not part of the encoder: %s", source, len(res.dropped),
                 ", ".join(res.dropped[:20]) + (" ..." if len(res.dropped) > 20 else ""))
    return model.eval()


def convert_checkpoint(kind: str, checkpoint: str | os.PathLike[str], out: str | os.PathLike[str],
                       *, layout: str | None = None,
                       stride_blocks: Sequence[int] | None = None) -> Path:
    """Convert an original checkpoint file into a skelloc model folder at ``out``.

    Pickle checkpoints are read with ``torch.load(weights_only=True)`` only; running
    ``convert`` is the explicit opt-in.
    """
    path = Path(checkpoint)
    state = read_state_dict(path, allow_pickle=True)
    model = convert_state_dict(kind, state, layout=layout, stride_blocks=stride_blocks,
                               source=str(path))
    out_path = Path(out)
    model.save(out_path)
    log.info("converted %s (%s) into %s", path, kind, out_path)
    return out_path
