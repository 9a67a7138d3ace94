"""End-to-end frame/second bookkeeping: a 120 fps BVH through a 30 fps model, then the writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import skelloc
from skelloc.io import read
from skelloc.io.writers import read_segments_csv, write_segments_csv

FIXTURES = Path(__file__).parent / "fixtures"


def _bvh_120fps(path: Path, frames: int) -> Path:
    """The CMU-like hierarchy with ``frames`` motion lines of swinging joint angles."""
    lines = (FIXTURES / "cmu_like.bvh").read_text().splitlines()
    header = lines[: lines.index("MOTION")]
    n = len(lines[-1].split())
    t = np.arange(frames)[:, None] / 120.0
    motion = 30 * np.sin(2 * np.pi * (0.5 + np.arange(n) / n) * t)
    motion[:, :3] = [0.0, 90.0, 0.0] + 50 * t * np.array([1, 0, 0])
    body = [" ".join(f"{v:.4f}" for v in row) for row in motion]
    path.write_text("\n".join([*header, "MOTION", f"Frames: {frames}",
                               "Frame Time: 0.00833333", *body]) + "\n")
    return path


def test_120fps_bvh_through_30fps_model(tmp_path: Path) -> None:
    seq = read(_bvh_120fps(tmp_path / "walk.bvh", 480))
    assert seq.fps == 120.0 and seq.num_frames == 480 and seq.duration == 4.0
    torch.manual_seed(0)
    model = skelloc.create_model("stgcn", num_classes=3, labels=["a", "b", "c"],
                                 base_channels=4, head_args={"fusion_dim": 8},
                                 input_spec={"fps": 30.0}).eval()
    feats = skelloc.extract_features(seq, model=model)
    assert feats.shape[0] == 480  # one row per input frame
    segs = skelloc.localize(seq, model=model, decoder="argmax")
    assert segs, "the seeded random model yields some argmax runs"
    for s in segs:
        assert 0 <= s.start < s.end <= 480
        assert s.start_s == s.start / 120.0 and s.end_s == s.end / 120.0
        # decoded at 30 fps: 30 fps frame k starts at 120 fps frame 4k
        assert s.start % 4 == 0 and (s.end % 4 == 0 or s.end == 480)
    back = read_segments_csv(write_segments_csv(tmp_path / "s.csv", segs, video="walk"))
    assert back["walk"] == segs
