"""Build tiny training caches (the ``skelloc prepare`` format of ARCHITECTURE.md) for tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def make_cache(root: Path, *, num_videos: int = 6, num_classes: int = 2, frames: int = 60,
               fps: float = 30.0, persons: int = 2, seed: int = 0,
               splits: list[str | None] | None = None) -> Path:
    """Random-walk skeletons with one or two labelled segments per video.

    Each action class moves one distinct joint group strongly, so a model can learn them.
    Video ``i`` belongs to performance ``i // 2`` (two views each), split ``splits[i]``
    (default: all ``"train"``).
    """
    rng = np.random.default_rng(seed)
    (root / "skeletons").mkdir(parents=True, exist_ok=True)
    videos = []
    for i in range(num_videos):
        t = frames + int(rng.integers(-frames // 4, frames // 4 + 1))
        base = rng.normal(0, 0.3, size=(1, persons, 25, 3))
        walk = np.cumsum(rng.normal(0, 0.002, size=(t, persons, 25, 3)), axis=0)
        joints = base + walk
        joints[:, :, :, 2] += 3.0  # metres in front of the camera
        segments = []
        start = int(rng.integers(2, t // 3))
        for k in range(1 + i % 2):
            cls = (i + k) % num_classes
            end = min(t, start + int(rng.integers(t // 6, t // 3)))
            if end - start < 3:
                break
            phase = np.sin(np.linspace(0, 6 * np.pi, end - start))[:, None, None]
            group = slice(4 + 4 * cls, 8 + 4 * cls)
            joints[start:end, 0, group, 1] += 0.4 * phase[:, :, 0]
            segments.append([cls, start, end])
            start = end + 2
            if start >= t - 3:
                break
        vid = f"{i // 2:04d}-{'LR'[i % 2]}"
        np.save(root / "skeletons" / f"{vid}.npy", joints.astype(np.float16))
        videos.append({"id": vid, "num_frames": t, "performance": f"{i // 2:04d}",
                       "split": (splits[i] if splits is not None else "train"),
                       "segments": segments})
    meta = {"format": "skelloc-cache", "version": 1, "dataset": "toy", "fps": fps,
            "layout": "ntu25", "classes": [f"action{c}" for c in range(num_classes)],
            "background_index": num_classes, "videos": videos}
    (root / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return root
