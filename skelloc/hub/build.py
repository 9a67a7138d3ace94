"""Build a :class:`~skelloc.models.localizer.Localizer` from a manifest entry and verified files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from skelloc.errors import IncompatibleWeightsError
from skelloc.hub.manifest import ModelEntry
from skelloc.models.weights import (
    check_metadata,
    check_weights_fit,
    load_into,
    read_state_dict,
    strip_prefix,
)

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.models.localizer import Localizer

__all__ = ["build_model"]

log = logging.getLogger(__name__)

def build_model(entry: ModelEntry, files: dict[str, Path], *, num_classes: int | None = None,
                device: str | torch.device = "cpu", load_head: bool = True,
                allow_pickle: bool = False, check_meta: bool = True,
                full_file: Path | None = None) -> Localizer:
    """Create the model of ``entry`` and load its weights strictly.

    ``files`` maps roles (``encoder``, ``head``) to local paths.  ``full_file`` is a single
    ``.safetensors`` with ``encoder.*`` and ``head.*`` keys instead.  When ``num_classes``
    differs from the entry, the head's ``classifier_keys`` are re-initialised (reported in the
    log); when the entry names none, head tensors whose shape changed are.
    """
    from skelloc.models.factory import create_model

    k = entry.num_classes
    nc = k if num_classes is None else int(num_classes)
    has_head = load_head and entry.head_name is not None and (
        "head" in files or full_file is not None)
    if check_meta:
        for role, path in files.items():
            if path.suffix == ".safetensors":
                check_metadata(path, role=role, architecture=entry.architecture,
                               model_args=entry.model_args, head_name=entry.head_name,
                               head_args=entry.head_args, num_classes=k)
    def make() -> Localizer:
        return create_model(
            entry.architecture, num_classes=nc, head=entry.head_name if has_head else None,
            labels=list(entry.label_names) if nc == k else None,
            input_spec=entry.input_spec, head_args=dict(entry.head_args) or None,
            output=entry.output, **entry.model_args,
        )

    parts = ({"encoder": (full_file, "encoder."), "head": (full_file, "head.")}
             if full_file is not None else
             {role: (path, f"{role}.") for role, path in files.items()})
    if not has_head or nc != k:
        parts.pop("head", None)
    check_weights_fit(make, parts)  # absurd model_args fail here, before any allocation
    model = make()
    if entry.inference:  # the model's own decoder / window defaults
        model.set_inference_defaults(**entry.inference)
    if full_file is not None:
        full = read_state_dict(full_file, allow_pickle=allow_pickle)
        enc_sd = {kk[8:]: v for kk, v in full.items() if kk.startswith("encoder.")}
        head_sd = {kk[5:]: v for kk, v in full.items() if kk.startswith("head.")}
        enc_src = head_src = str(full_file)
        if not enc_sd and not head_sd:
            enc_sd = full  # a bare encoder state dict
    else:
        enc_sd = strip_prefix(read_state_dict(files["encoder"], allow_pickle=allow_pickle),
                              "encoder.")
        head_sd = (strip_prefix(read_state_dict(files["head"], allow_pickle=allow_pickle), "head.")
                   if has_head else {})
        enc_src, head_src = str(files["encoder"]), str(files.get("head", ""))
    load_into(model.encoder, enc_sd, what=f"{entry.name} encoder", source=enc_src)
    if has_head:
        if model.head is None:  # pragma: no cover - create_model contract
            raise IncompatibleWeightsError(f"{entry.name}: the model was built without a head")
        drop: list[str] = []
        if nc != k:
            drop = list(entry.classifier_keys) or _shape_changed(model.head, head_sd)
            if not drop:
                raise IncompatibleWeightsError(
                    f"{entry.name}: num_classes={nc} differs from the weights' {k} but no "
                    "classifier tensors are known; set head.classifier_keys in the manifest")
        reinit = load_into(model.head, head_sd, what=f"{entry.name} head", drop=drop,
                           source=head_src)
        if reinit:
            log.info("%s: num_classes %d -> %d; re-initialised %s (train them before use)",
                     entry.name, k, nc, ", ".join(reinit))
    model.to(device)
    model.eval()
    return model


def _shape_changed(head: torch.nn.Module, sd: dict[str, torch.Tensor]) -> list[str]:
    own = head.state_dict()
    return sorted(key for key, t in sd.items()
                  if key in own and tuple(t.shape) != tuple(own[key].shape))
