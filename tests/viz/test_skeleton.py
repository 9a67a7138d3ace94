"""Skeleton animations: frame choice, captions, 2D/3D drawing and GIF output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skelloc.errors import ConfigError, MissingDependencyError
from skelloc.inference.api import Localization
from skelloc.skeleton.sequence import SkeletonSequence
from skelloc.viz import animate_skeleton, animation_format, frame_indices, save_animation
from skelloc.viz.skeleton import frame_labels

from .conftest import seg


def ntu(t: int = 60, seed: int = 0) -> SkeletonSequence:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(scale=0.02, size=(t, 2, 25, 3)), axis=0).astype(np.float32)
    x += np.array([0.0, 0.0, 3.0], np.float32)
    x[:, 1] = 0.0  # the second person is absent
    return SkeletonSequence(x, layout="ntu25", fps=10.0)


def test_frame_indices() -> None:
    np.testing.assert_array_equal(frame_indices(10, 10.0), np.arange(10))
    # 1000 frames, cap 300: the smallest stride that fits is 4 -> 250 frames
    idx = frame_indices(1000, 30.0, max_frames=300)
    assert idx[1] - idx[0] == 4 and len(idx) == 250
    # seconds [1.0, 2.0) at 10 fps are frames 10..19
    np.testing.assert_array_equal(frame_indices(100, 10.0, start=1.0, end=2.0, stride=3),
                                  [10, 13, 16, 19])
    # an explicit stride keeps its step and is cut at max_frames
    np.testing.assert_array_equal(frame_indices(100, 10.0, stride=2, max_frames=3), [0, 2, 4])
    assert len(frame_indices(1000, 30.0, max_frames=None)) == 1000
    for kwargs in ({"start": 20.0}, {"start": 5.0, "end": 5.0}, {"stride": 0},
                   {"max_frames": 0}):
        with pytest.raises(ConfigError):
            frame_indices(100, 10.0, **kwargs)  # type: ignore[arg-type]


def test_frame_labels_strongest_segment_wins() -> None:
    ids, scores = frame_labels([seg(0, 0, 6, 0.3), seg(1, 4, 8, 0.7), seg(2, 8, 9, 0.05)], 10,
                               min_score=0.1)
    assert ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, -1, -1]
    assert scores[5] == pytest.approx(0.7) and np.isnan(scores[9])


def test_3d_gif_frames_size_and_captions(result: Localization, tmp_path: Path) -> None:
    gt = [seg(0, 0, 25, 1.0)]
    anim = animate_skeleton(ntu(), result, gt, start=1.8, end=2.6, stride=2, figsize=(3, 3),
                            dpi=40, title="clip")
    fig = anim._fig
    # frames 18, 20, 22, 24 at 10 fps / stride 2 = 5 frames per second
    assert anim.event_source.interval == pytest.approx(200.0)
    texts = {t.get_text().split(":")[0]: t.get_text() for t in fig.texts}
    # the first frame (18) lies in "wave" [10, 30) scored 0.8; the weaker "kick" ends at 20
    assert texts["predicted"] == "predicted: wave (0.80)"
    assert texts["ground truth"] == "ground truth: wave"
    ax3d = fig.axes[0]
    assert ax3d.name == "3d"
    person0, person1 = ax3d.lines
    xs, _, _ = person1.get_data_3d()
    assert np.isnan(np.asarray(xs, float)).all()  # the absent person draws nothing
    assert np.isfinite(np.asarray(person0.get_data_3d()[0], float)).sum() == 2 * 24  # 24 bones
    path = save_animation(anim, tmp_path / "clip.gif")
    with Image.open(path) as im:
        assert im.format == "GIF" and im.size == (120, 120) and im.n_frames == 4
        assert im.info["duration"] == 200
    assert [p.name for p in tmp_path.iterdir()] == ["clip.gif"]


def test_2d_image_space(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(100, 400, size=(5, 1, 17, 2))
    conf = np.ones((5, 1, 17, 1))
    conf[:, :, 0] = 0.0  # the nose is never detected
    seq = SkeletonSequence(np.concatenate([xy, conf], -1).astype(np.float32), layout="coco17",
                           fps=25.0, meta={"confidence": True})
    anim = animate_skeleton(seq, figsize=(2, 2), dpi=50)
    ax = anim._fig.axes[0]
    assert ax.name != "3d"
    bottom, top = ax.get_ylim()
    assert bottom > top  # y points down
    assert [t.get_text() for t in anim._fig.texts if t.get_text().startswith("pred")] == []
    save_animation(anim, tmp_path / "a.gif", fps=5)
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 5 and im.size == (100, 100) and im.info["duration"] == 200


def test_bad_output_paths() -> None:
    with pytest.raises(ConfigError, match=r"\.gif or \.mp4, got \.avi"):
        animation_format("clip.avi")
    from matplotlib import animation

    if animation.writers.is_available("ffmpeg"):
        assert animation_format("clip.mp4") == "mp4"
    else:
        with pytest.raises(MissingDependencyError, match="ffmpeg"):
            animation_format("clip.mp4")


def test_layout_must_fit() -> None:
    with pytest.raises(ConfigError, match="layout 'coco17' has 17 joints"):
        animate_skeleton(ntu(5), layout="coco17")
