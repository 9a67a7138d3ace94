"""Shared inputs of the viz tests: headless figures, a hand-made localisation result."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.inference.api import Localization
from skelloc.inference.segments import Segment

pytest.importorskip("matplotlib")


def seg(label_id: int, start: int, end: int, score: float, fps: float = 10.0,
        labels: tuple[str, ...] = ("wave", "kick", "sit", "jump")) -> Segment:
    return Segment(labels[label_id], label_id, start, end, start / fps, end / fps, score)


@pytest.fixture
def result() -> Localization:
    """60 frames at 10 fps, 4 classes: "wave" peaks at 0.9 in [10, 30), "kick" at 0.6 in
    [35, 50), "sit" never above 0.05, "jump" never above 0.02."""
    t = 60
    probs = np.zeros((t, 5), np.float32)
    probs[:, 2] = 0.05
    probs[:, 3] = 0.02
    probs[10:30, 0] = 0.9
    probs[35:50, 1] = 0.6
    probs[:, 4] = 1.0 - probs[:, :4].sum(axis=1)
    segments = [seg(0, 10, 30, 0.8), seg(1, 35, 50, 0.5), seg(1, 12, 20, 0.1)]
    return Localization(segments=segments, probs=probs,
                        labels=["wave", "kick", "sit", "jump"], fps=10.0)
