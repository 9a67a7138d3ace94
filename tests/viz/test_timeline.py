"""The timeline figure, saving, class colours and ground-truth reading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from skelloc.errors import ConfigError, InputError, MissingDependencyError
from skelloc.inference.api import Localization
from skelloc.viz import (
    class_color,
    plot_timeline,
    read_ground_truth,
    save_figure,
    select_classes,
)
from skelloc.viz.timeline import pack_lanes

from .conftest import seg


def _by_label(fig):  # type: ignore[no-untyped-def]
    return {ax.get_ylabel().split("\n")[0]: ax for ax in fig.axes}


def test_png_size_and_ground_truth_bars(result: Localization, tmp_path: Path) -> None:
    gt = [seg(0, 12, 28, 1.0), seg(2, 40, 55, 1.0)]
    fig = plot_timeline(result, gt, figsize=(8, 4), dpi=50)
    axes = _by_label(fig)
    assert set(axes) == {"probability", "predicted", "ground truth"}
    gt_bars = [p for p in axes["ground truth"].patches if p.get_gid()]
    assert sorted((round(p.get_x(), 6), round(p.get_width(), 6)) for p in gt_bars) == [
        (1.2, 1.6), (4.0, 1.5)]  # seconds at 10 fps
    assert len([p for p in axes["predicted"].patches if p.get_gid()]) == 3
    # curves: the segment classes (wave, kick), the ground-truth class (sit), the background;
    # "jump" never occurs and stays under the threshold
    gids = {line.get_gid() for line in axes["probability"].lines}
    assert gids == {"prob:0", "prob:1", "prob:2", "prob:background"}
    assert axes["probability"].get_xlim() == (0.0, 6.0)
    path = save_figure(fig, tmp_path / "t.png")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (400, 200)


def test_without_ground_truth_and_min_score(result: Localization, tmp_path: Path) -> None:
    fig = plot_timeline(result, min_score=0.3)
    axes = _by_label(fig)
    assert set(axes) == {"probability", "predicted"}
    assert len([p for p in axes["predicted"].patches if p.get_gid()]) == 2
    assert fig.get_size_inches()[0] == 12.0
    save_figure(fig, tmp_path / "t.svg")
    assert (tmp_path / "t.svg").read_text().lstrip().startswith("<?xml")


def test_select_classes(result: Localization) -> None:
    assert select_classes(result) == [0, 1]  # peaks 0.9 and 0.6 reach 0.5
    assert select_classes(result, prob_threshold=0.7) == [0]
    assert select_classes(result, [seg(3, 0, 5, 0.1)], prob_threshold=0.95) == [3]
    # the cap keeps ground-truth classes first, then the highest peaks
    assert select_classes(result, (), [seg(2, 0, 5, 1.0)], prob_threshold=0.0,
                          max_classes=2) == [0, 2]
    fig = plot_timeline(result, classes=["jump", 1])
    gids = {line.get_gid() for line in fig.axes[0].lines}
    assert gids == {"prob:1", "prob:3", "prob:background"}
    with pytest.raises(ConfigError, match="unknown class 'run'"):
        plot_timeline(result, classes=["run"])


def test_pack_lanes_strongest_first() -> None:
    a, b, c = seg(0, 0, 20, 0.9), seg(1, 10, 30, 0.5), seg(2, 40, 50, 0.3)
    lanes = pack_lanes([c, b, a], duration_s=10.0, min_fraction=0.0)
    assert lanes == [[a, c], [b]]
    # a bar is at least min_fraction of the axis wide: c (4.0 s) now collides with a label
    # reserved from 0.0 to 5.0 s
    assert pack_lanes([a, c], duration_s=10.0, min_fraction=0.5) == [[a], [c]]
    assert pack_lanes([a, b], duration_s=10.0, max_lanes=1) == [[a]]


def test_save_figure_errors(result: Localization, tmp_path: Path) -> None:
    fig = plot_timeline(result)
    with pytest.raises(ConfigError, match="unknown image format '.xyz'"):
        save_figure(fig, tmp_path / "t.xyz")
    with pytest.raises(ConfigError, match="no file suffix"):
        save_figure(fig, tmp_path / "t")
    assert list(tmp_path.iterdir()) == []


def test_class_colours_consistent_and_distinct() -> None:
    colours = [class_color(k) for k in range(64)]
    assert len(set(colours)) == 64
    assert class_color(3) == colours[3] and class_color(64 + 3) == colours[3]
    assert all(max(c) <= 1.0 and min(c) >= 0.0 and sum(c) < 2.7 for c in colours)  # no white


def test_read_ground_truth(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("2,5,20,1\n1,31,40,0\n")
    gt = read_ground_truth(labels, ["wave", "kick"], fps=10.0, num_frames=50)
    assert [(g.label, g.label_id, g.start, g.end, g.start_s, g.end_s) for g in gt] == [
        ("kick", 1, 4, 20, 0.4, 2.0), ("wave", 0, 30, 40, 3.0, 4.0)]
    with pytest.raises(ConfigError, match="class 2 is outside the model's 1 labels"):
        read_ground_truth(labels, ["wave"], fps=10.0)
    # past the video's end: clipped (or dropped when it starts after it), with a warning
    assert [(g.start, g.end) for g in read_ground_truth(labels, ["wave", "kick"], fps=10.0,
                                                         num_frames=15)] == [(4, 15)]
    with pytest.raises(InputError, match="cannot read"):
        read_ground_truth(tmp_path / "missing.txt", ["wave"], fps=10.0)


def test_missing_matplotlib_is_a_typed_error(result: Localization,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "skelloc\[viz\]"'):
        plot_timeline(result)


def test_import_does_not_load_matplotlib() -> None:
    code = ("import sys, skelloc.viz, skelloc.viz.timeline, skelloc.viz.skeleton, "
            "skelloc.viz.evaluation, skelloc.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
