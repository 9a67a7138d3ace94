"""Build a :class:`~skelloc.models.localizer.Localizer` from a manifest entry and verified files.

The entry and the files become a :class:`~skelloc.models.loading.WeightsSource`; building and
strict loading are :func:`~skelloc.models.loading.build_from_source`'s, the same as
:meth:`Localizer.load <skelloc.models.localizer.Localizer.load>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from skelloc.hub.manifest import ModelEntry
from skelloc.models.loading import WeightsSource, build_from_source
from skelloc.models.localizer import Localizer
from skelloc.models.weights import check_metadata

__all__ = ["build_model", "source_of"]


def source_of(entry: ModelEntry, files: dict[str, Path], *, full_file: Path | None = None,
              allow_pickle: bool = False) -> WeightsSource:
    """The weights source of ``entry``: ``files`` maps roles (``encoder``, ``head``) to local
    paths, or ``full_file`` is one file with ``encoder.*`` and ``head.*`` keys."""
    if full_file is not None:
        encoder, head = full_file, (full_file if entry.head_name is not None else None)
    else:
        encoder, head = files["encoder"], files.get("head")
    return WeightsSource(entry.name, entry.config, tuple(entry.label_names), entry.input_spec,
                         encoder, head, single_file=full_file is not None,
                         classifier_keys=tuple(entry.classifier_keys), allow_pickle=allow_pickle)


def build_model(entry: ModelEntry, files: dict[str, Path], *, num_classes: int | None = None,
                labels: Sequence[str] | None = None, device: str | torch.device = "cpu",
                load_head: bool = True, allow_pickle: bool = False, check_meta: bool = True,
                full_file: Path | None = None) -> Localizer:
    """Create the model of ``entry`` and load its weights strictly (see :func:`source_of`).

    With ``check_meta`` every safetensors file's metadata must agree with the entry. Another
    class count re-initialises the head's ``classifier_keys`` (reported in the log; when the
    entry names none, the head tensors whose shape changed).
    """
    if check_meta:
        for role, path in files.items():
            if path.suffix == ".safetensors":
                check_metadata(path, role=role, architecture=entry.architecture,
                               model_args=entry.model_args, head_name=entry.head_name,
                               head_args=entry.head_args, num_classes=entry.num_classes)
    source = source_of(entry, files, full_file=full_file, allow_pickle=allow_pickle)
    return build_from_source(source, Localizer.from_config, num_classes=num_classes,
                             labels=labels, load_head=load_head, device=device)
