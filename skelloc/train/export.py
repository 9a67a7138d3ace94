"""Turn a trained model into a hub folder (weights, manifest entry, model card)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from skelloc.errors import WeightsNotFoundError

__all__ = ["export_trained", "manifest_metrics"]

logger = logging.getLogger(__name__)


def manifest_metrics(record: dict[str, Any] | None) -> dict[str, Any]:
    """Manifest ``metrics`` from a validation record of ``metrics.json``."""
    if not record:
        return {}
    out: dict[str, Any] = {f"mAP@{t}": v for t, v in (record.get("mAP") or {}).items()}
    if record.get("average_mAP") is not None:
        out["average_mAP"] = record["average_mAP"]
    if record.get("frame_accuracy") is not None:
        out["frame_accuracy"] = record["frame_accuracy"]
    if out:
        out["split"] = "val"
        out["protocol"] = record.get("protocol", "anet")
    return out


def export_trained(ckpt: str | Path, name: str, to: str | Path, *,
                   metrics: str | Path | dict[str, Any] | None = None,
                   description: str = "", **kwargs: Any) -> Path:
    """Export ``ckpt`` (``best.safetensors``, ``last.safetensors`` or a saved folder) with
    :func:`skelloc.hub.export.export_model`. ``metrics`` is a ``metrics.json`` path, a dict,
    or ``None`` to use the ``metrics.json`` beside ``ckpt`` (its ``best`` record, or ``last``
    when exporting ``last.safetensors``)."""
    from skelloc.hub.export import export_model
    from skelloc.models.localizer import Localizer

    path = Path(ckpt)
    if not path.exists():
        raise WeightsNotFoundError(f"no trained model at {path}")
    model = Localizer.load(path)
    values: dict[str, Any] = {}
    if isinstance(metrics, dict):
        values = dict(metrics)
    else:
        source = Path(metrics) if metrics is not None else path.parent / "metrics.json"
        if source.is_file():
            data = json.loads(source.read_text(encoding="utf-8"))
            key = "last" if path.name.startswith("last") else "best"
            values = manifest_metrics(data.get(key))
    return export_model(model, name, to, metrics=values or None, description=description,
                        **kwargs)
