"""Evaluation plots from a DetectionResult with hand-checked APs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from skelloc.errors import ConfigError
from skelloc.metrics import Instance, detection_map
from skelloc.viz import plot_class_ap, plot_evaluation, plot_map_vs_tiou, save_figure


@pytest.fixture
def result():  # type: ignore[no-untyped-def]
    gt = [Instance("v", "wave", 0, 10), Instance("v", "kick", 20, 30),
          Instance("v", "sit", 40, 50)]
    # wave exact (AP 1); kick [20, 26): IoU 0.6 (AP 1 at 0.5, 0 at 0.7); sit missed (AP 0)
    pred = [Instance("v", "wave", 0, 10, 0.9), Instance("v", "kick", 20, 26, 0.8)]
    return detection_map(pred, gt, [0.5, 0.7])


def test_class_ap_bars(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fig = plot_class_ap(result, class_names={"sit": "sit down"}, figsize=(4, 3), dpi=50)
    ax = fig.axes[0]
    # best first (top): mean AP wave 100, kick 50, sit 0
    rows = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())),
                  reverse=True)
    assert [name for _, name in rows] == ["wave", "kick", "sit down"]
    bars = sorted(((p.get_y(), p.get_width()) for p in ax.patches), reverse=True)
    assert [w for _, w in bars] == pytest.approx([100.0, 50.0, 0.0])
    at07 = plot_class_ap(result, threshold=0.7).axes[0]
    assert sorted(p.get_width() for p in at07.patches) == pytest.approx([0.0, 0.0, 100.0])
    with pytest.raises(ConfigError, match="threshold 0.3"):
        plot_class_ap(result, threshold=0.3)
    save_figure(fig, tmp_path / "ap.png")
    with Image.open(tmp_path / "ap.png") as im:
        assert im.size == (200, 150)


def test_map_curve_and_combined_figure(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ax = plot_map_vs_tiou(result).axes[0]
    x, y = ax.lines[0].get_data()
    assert list(x) == [0.5, 0.7]
    assert list(y) == pytest.approx([100 * 2 / 3, 100 / 3])
    fig = plot_evaluation(result, figsize=(8, 4), dpi=50)
    assert len(fig.axes) == 2
    save_figure(fig, tmp_path / "eval.pdf")
    assert (tmp_path / "eval.pdf").read_bytes().startswith(b"%PDF")
    save_figure(fig, tmp_path / "eval.png")
    with Image.open(tmp_path / "eval.png") as im:
        assert im.format == "PNG" and im.size == (400, 200)
