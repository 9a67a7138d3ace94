"""Segment records returned by localisation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Segment"]


@dataclass(frozen=True)
class Segment:
    """One detected action instance.

    ``start``/``end`` are frame indices of the *input* sequence, ``end`` exclusive;
    ``start_s``/``end_s`` are the same bounds in seconds (``frame / input_fps``).
    """

    label: str
    label_id: int
    start: int
    end: int
    start_s: float
    end_s: float
    score: float

    @property
    def num_frames(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
