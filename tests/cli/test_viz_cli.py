"""``localize --plot``, ``show`` and ``evaluate --plot`` through ``skelloc.cli.run``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelloc.cli import run

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

EX = Path(__file__).resolve().parents[2] / "examples" / "metrics"


@pytest.fixture
def seqs(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for name in ("a", "b"):
        x = np.cumsum(rng.normal(scale=0.1, size=(30, 2, 25, 3)), axis=0).astype(np.float32)
        paths.append(tmp_path / f"{name}.npy")
        np.save(paths[-1], x + 1.0)
    return paths


def test_localize_plot_one_input_with_gt_alias(weights: Path, seqs: list[Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("2,5,20,1\n")
    target = tmp_path / "fig" / "timeline.png"
    code = run(["localize", str(seqs[0]), "-m", str(weights), "--gt", str(labels),
                "--plot", str(target)])
    captured = capsys.readouterr()
    assert code == 0
    assert "0.13-   0.67s  kick" in captured.out  # --gt is --ground-truth
    assert f"wrote {target}" in captured.err
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size[0] == 1200  # 12 in at 100 dpi


def test_localize_plot_several_inputs(weights: Path, seqs: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    assert run(["localize", *map(str, seqs), "-m", str(weights), "--plot", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png"]
    template = str(tmp_path / "t" / "{index}-{stem}.svg")
    assert run(["localize", *map(str, seqs), "-m", str(weights), "--plot", template]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["0-a.svg", "1-b.svg"]


@pytest.mark.parametrize(("plot", "message"), [
    ("one.png", "2 inputs need one figure each"),
    ("{stem}.bmpx", "unknown image format '.bmpx'"),
])
def test_localize_plot_errors(weights: Path, seqs: list[Path], tmp_path: Path, plot: str,
                              message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["localize", *map(str, seqs), "-m", str(weights), "--plot",
                str(tmp_path / plot)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.png"))


def test_show_gif(weights: Path, seqs: list[Path], tmp_path: Path,
                  capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("1,1,10,1\n")
    out = tmp_path / "clip.gif"
    code = run(["show", str(seqs[0]), "-m", str(weights), "--gt", str(labels), "--out", str(out),
                "--start", "0.5", "--max-frames", "3", "--dpi", "20"])
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as im:
        # frames 15..29 capped at 3 frames: stride 5 -> 15, 20, 25 at 30/5 = 6 fps
        assert im.format == "GIF" and im.n_frames == 3 and im.size == (120, 128)
        assert abs(im.info["duration"] - 1000 / 6) <= 10  # GIF stores centiseconds


def test_show_errors(weights: Path, seqs: list[Path], tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["show", str(seqs[0]), "-m", str(weights), "--out", str(tmp_path / "c.avi")]) == 2
    assert "must be written to .gif or .mp4" in capsys.readouterr().err
    assert run(["show", str(tmp_path / "missing.npy"), "--out", str(tmp_path / "c.gif")]) != 0
    assert capsys.readouterr().err.startswith("error:")
    labels = tmp_path / "labels.txt"
    labels.write_text("3,1,10,1\n")  # the model has 2 classes
    code = run(["show", str(seqs[0]), "-m", str(weights), "--gt", str(labels), "--no-predict",
                "--out", str(tmp_path / "c.gif")])
    err = capsys.readouterr().err
    assert code == 2 and "class 3 is outside the model's 2 labels" in err
    assert not (tmp_path / "c.gif").exists()


def test_evaluate_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "eval.png"
    code = run(["evaluate", str(EX / "pred.json"), str(EX / "gt.json"), "--plot", str(target)])
    captured = capsys.readouterr()
    assert code == 0 and "mAP" in captured.out and f"wrote {target}" in captured.err
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size == (1200, 450)
    assert run(["evaluate", str(EX / "pred.json"), str(EX / "gt.json"), "--plot",
                str(tmp_path / "eval.nope")]) == 2
    assert "unknown image format" in capsys.readouterr().err


def test_show_pose_estimator_file_with_input_format(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``--input-format`` names the input's format when the extension does not tell."""
    fixture = Path(__file__).resolve().parents[1] / "io" / "fixtures" / "mmpose_video.json"
    renamed = tmp_path / "clip.data"  # an extension that tells nothing
    renamed.write_text(fixture.read_text())
    out = tmp_path / "c.gif"
    assert run(["show", str(renamed), "--no-predict", "--out", str(out)]) == 2
    assert "--input-format" in capsys.readouterr().err
    assert run(["show", str(renamed), "--input-format", "mmpose", "--no-predict",
                "--out", str(out)]) == 0
    assert out.stat().st_size > 0
