"""``create_model``: build a :class:`~skelloc.models.localizer.Localizer` from names and arguments.

::

    model = create_model("agcn", num_classes=4)                      # paper: AGCN + U-head
    model = create_model("stgcn", num_classes=51, head="simple", base_channels=16)
    encoder_only = create_model("unik", head=None, num_heads=4)

Every argument is recorded in the model's :class:`~skelloc.models.localizer.ModelConfig`, so a
saved model rebuilds itself; arguments must therefore be JSON-serialisable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from skelloc.errors import ConfigError
from skelloc.model_config import InputSpec, ModelConfig, default_labels
from skelloc.models.localizer import Localizer
from skelloc.models.registry import build_backbone, build_head, get_backbone_class, get_head_class

__all__ = ["create_model", "create_from_config", "default_labels"]


def _jsonable(args: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON round trip (tuples become lists); non-serialisable values raise ConfigError."""
    try:
        out = json.loads(json.dumps(dict(args)))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{what} must be JSON-serialisable to be saved with the model: {exc}"
        ) from exc
    return out  # type: ignore[no-any-return,unused-ignore]


def create_model(
    architecture: str,
    num_classes: int | None = None,
    head: str | None = "ufusion",
    labels: Sequence[str] | None = None,
    input_spec: InputSpec | Mapping[str, Any] | None = None,
    head_args: Mapping[str, Any] | None = None,
    output: str = "softmax",
    **model_args: Any,
) -> Localizer:
    """Build a randomly initialised model.

    Args:
        architecture: a registered backbone (``"stgcn"``, ``"agcn"``, ``"unik"``, ...).
        num_classes: K action classes (background excluded); taken from ``labels`` if omitted.
        head: ``"ufusion"`` (default), ``"simple"``, ``"tconv"`` or ``None`` (encoder only).
        labels: K class names (default ``class_0 ..``).
        input_spec: the expected input; default derived from the encoder.
        head_args: extra keyword arguments of the head (e.g. ``fusion_dim``).
        output: ``"softmax"`` (one class per frame) or ``"sigmoid"`` (independent per-class
            probabilities, for multi-label ground truth such as BABEL's overlapping actions).
        **model_args: keyword arguments of the backbone (e.g. ``base_channels=16``), recorded
            as the config's ``model_args``.

    Raises:
        UnknownArchitectureError: unknown architecture or head name (with close matches).
        ConfigError: inconsistent class counts or invalid arguments.
    """
    get_backbone_class(architecture)  # fail fast on a bad name, before building anything
    if head is not None:
        get_head_class(head)
    if labels is not None:
        if isinstance(labels, str):
            raise ConfigError("labels must be a sequence of class names, not a single string")
        label_list = [str(x) for x in labels]
        if num_classes is not None and int(num_classes) != len(label_list):
            raise ConfigError(f"num_classes={num_classes} but {len(label_list)} labels were given")
        num_classes = len(label_list)
    elif num_classes is not None:
        if int(num_classes) < 0:
            raise ConfigError(f"num_classes must be >= 0, got {num_classes}")
        label_list = default_labels(int(num_classes))
    elif head is None:
        num_classes, label_list = 0, []
    else:
        raise ConfigError(
            f"head {head!r} needs num_classes (or labels); pass head=None for an encoder only"
        )
    if head is not None and num_classes < 1:
        raise ConfigError(f"head {head!r} needs num_classes >= 1, got {num_classes}")

    model_args = _jsonable(model_args, "backbone arguments")
    h_args = _jsonable(head_args or {}, "head_args")
    encoder = build_backbone(architecture, **model_args)
    head_module = None
    if head is not None:
        head_module = build_head(
            head,
            block_channels=list(encoder.block_channels),
            block_strides=list(encoder.block_strides),
            num_classes=int(num_classes),
            **h_args,
        )
    config = ModelConfig(
        architecture=architecture,
        model_args=model_args,
        head=head,
        head_args=h_args,
        num_classes=int(num_classes),
        output=output,
    )
    return Localizer(encoder, head_module, label_list, input_spec=input_spec, config=config)


def create_from_config(
    config: ModelConfig | Mapping[str, Any],
    labels: Sequence[str] | None = None,
    input_spec: InputSpec | Mapping[str, Any] | None = None,
) -> Localizer:
    """Rebuild a model from its :class:`ModelConfig` (or its JSON dict); see
    :meth:`Localizer.from_config`."""
    return Localizer.from_config(config, labels=labels, input_spec=input_spec)
