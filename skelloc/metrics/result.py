"""The result record of :func:`skelloc.metrics.detection_map` and its text table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skelloc.metrics.records import Label, label_sort_key

__all__ = ["DetectionResult", "PROTOCOL_TITLES"]

PROTOCOL_TITLES = {
    "anet": "ActivityNet (one-to-one, duplicates are false positives, VOC interpolated AP)",
    "pkummd": "PKU-MMD official (many-to-one, proposal-removal AP)",
    "frameset": "frame-set VOC (one-to-one, IoU on integer frame sets)",
}


def _pct(x: float) -> str:
    return "   nan" if math.isnan(x) else f"{100.0 * x:6.2f}"


@dataclass(frozen=True)
class DetectionResult:
    """Detection mAP under one protocol.

    Values are fractions in ``[0, 1]`` (the table prints percentages).

    - ``mAP[t]``: mean AP over the classes present in the ground truth, at threshold ``t``
      (for ``pkummd`` this is ``mAP_action`` over the present classes).
    - ``average_mAP``: mean of ``mAP`` over the thresholds.
    - ``per_class_ap[label][t]``: AP of one ground-truth class.
    - ``extra``: protocol-specific numbers keyed like ``mAP``; for ``pkummd``:
      ``mAP_action_official`` (sum of class APs divided by ``num_classes``, 51 for PKU-MMD v1),
      ``mAP_video``, ``AP`` (all proposals pooled) and ``F1``.
    """

    protocol: str
    thresholds: tuple[float, ...]
    mAP: dict[float, float]
    average_mAP: float
    per_class_ap: dict[Label, dict[float, float]]
    num_predictions: int
    num_ground_truth: int
    num_videos: int
    extra: dict[str, dict[float, float]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[Label]:
        return sorted(self.per_class_ap, key=label_sort_key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (threshold keys become strings such as ``"0.5"``)."""

        def keyed(d: dict[float, float]) -> dict[str, float]:
            return {f"{t:g}": float(v) for t, v in d.items()}

        return {
            "protocol": self.protocol,
            "thresholds": list(self.thresholds),
            "mAP": keyed(self.mAP),
            "average_mAP": float(self.average_mAP),
            "per_class_ap": {str(c): keyed(self.per_class_ap[c]) for c in self.classes},
            "extra": {k: keyed(v) for k, v in self.extra.items()},
            "num_predictions": self.num_predictions,
            "num_ground_truth": self.num_ground_truth,
            "num_videos": self.num_videos,
            "options": dict(self.options),
        }

    def format_table(self, per_class: bool = False,
                     class_names: Mapping[Any, str] | None = None) -> str:
        """A plain-text table of percentages, one column per threshold plus their mean.

        ``class_names`` maps labels (e.g. PKU-MMD class ids) to the names shown in the
        per-class rows; the first column widens to fit them."""
        ts = self.thresholds
        names = {c: str((class_names or {}).get(c, c)) for c in self.classes}
        width = max([22, *(len(n) + 5 for n in names.values())]) if per_class else 22
        head = f"{'tIoU':<{width}}" + "".join(f"{t:>8g}" for t in ts) + f"{'avg':>8}"
        lines = [
            f"protocol: {self.protocol} - {PROTOCOL_TITLES.get(self.protocol, '')}",
            f"{self.num_predictions} predictions, {self.num_ground_truth} ground-truth "
            f"instances, {len(self.per_class_ap)} classes, {self.num_videos} videos "
            "(values in %)",
            head,
            "-" * len(head),
        ]

        def row(name: str, values: dict[float, float]) -> str:
            vals = [values[t] for t in ts]
            mean = sum(vals) / len(vals) if vals else math.nan
            return f"{name:<{width}}" + "".join(f"  {_pct(v)}" for v in vals) + f"  {_pct(mean)}"

        main = "mAP_action (present)" if self.protocol == "pkummd" else "mAP"
        lines.append(row(main, self.mAP))
        for name, values in self.extra.items():
            lines.append(row(name, values))
        if per_class:
            lines.append("-" * len(head))
            for c in self.classes:
                lines.append(row(f"AP {names[c]}", self.per_class_ap[c]))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()
