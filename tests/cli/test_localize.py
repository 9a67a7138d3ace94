"""``skelloc localize`` through ``skelloc.cli.run`` on a model saved from random weights."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from skelloc.cli import run


@pytest.fixture
def seq_npy(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(scale=0.1, size=(40, 2, 25, 3)), axis=0).astype(np.float32) + 1.0
    path = tmp_path / "seq.npy"
    np.save(path, x)
    return path


def test_json_output(weights: Path, seq_npy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["localize", str(seq_npy), "--model", str(weights), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert isinstance(doc, list) and len(doc) == 1
    entry = doc[0]
    assert entry["input"] == str(seq_npy) and entry["fps"] == 30.0
    assert entry["segments"], "the paper's decoder finds the near-uniform random-model classes"
    for seg in entry["segments"]:
        assert set(seg) == {"label", "label_id", "start", "end", "start_s", "end_s", "score"}
        assert seg["label"] in ("wave", "kick") and 0 <= seg["start"] < seg["end"] <= 40


def test_two_inputs_fps_csv_and_out_file(
    weights: Path, seq_npy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.npy"
    np.save(other, np.load(seq_npy)[:, 0])  # one person, (T, V, C)
    target = tmp_path / "out.csv"
    code = run(["localize", str(seq_npy), str(other), "-m", str(weights), "--fps", "60",
                "--decoder", "argmax", "--format", "csv", "--out", str(target)])
    assert code == 0
    assert capsys.readouterr().out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert {r["input"] for r in rows} <= {str(seq_npy), str(other)}
    for r in rows:
        assert float(r["start_s"]) == pytest.approx(int(r["start"]) / 60)


def test_table_output(weights: Path, seq_npy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["localize", str(seq_npy), "-m", str(weights)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{seq_npy}  (40 frames at 30 fps, ")
    assert "label" in out.splitlines()[1] and "start_s" in out.splitlines()[1]


@pytest.mark.parametrize(
    ("array", "args", "message"),
    [
        (np.ones((10, 17, 3), np.float32), ["--layout", "ntu25"], "declared as layout 'ntu25'"),
        (np.ones((10, 25, 2), np.float32), [], "3 channels per joint"),
        (np.full((10, 25, 3), np.nan, np.float32), [], "NaN"),
        (np.ones((10, 25, 3), np.float32), ["--decoder", "viterbi"], "unknown decoder"),
        (np.ones((10, 25, 3), np.float32), ["--format", "xml"], "--format"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(
    weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    array: np.ndarray, args: list[str], message: str,
) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array)
    code = run(["localize", str(path), "-m", str(weights), "--fps", "30", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err.splitlines()[0]


def test_missing_file(weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["localize", str(tmp_path / "nope.npy"), "-m", str(weights)])
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_side_by_side_matches_ground_truth_to_segments() -> None:
    from skelloc import Segment
    from skelloc.cli.localize import _side_by_side

    def seg(label_id: int, start: int, end: int, score: float = 0.5) -> Segment:
        return Segment(["wave", "kick"][label_id], label_id, start, end, start / 10, end / 10,
                       score)

    ground_truth = [seg(0, 0, 10), seg(0, 20, 30), seg(0, 50, 60)]
    # [2, 10) overlaps the first instance with tIoU 8/10; [20, 30) labelled wrongly (no
    # same-label segment overlaps it);
    # [70, 80) overlaps nothing; nothing is near the third instance.
    segments = [seg(1, 20, 30, 0.9), seg(0, 2, 10, 0.8), seg(1, 70, 80, 0.1)]
    lines = _side_by_side(ground_truth, segments)
    assert lines[0].split() == ["ground", "truth", "skelloc", "match"]
    assert "wave" in lines[1] and lines[1].endswith("tIoU 0.80 ok")
    assert lines[2].endswith("tIoU 1.00 wrong label")
    assert "(missed)" in lines[3]
    assert lines[4].endswith("no ground truth") and "7.00-   8.00s" in lines[4]
    assert len(lines) == 5


def test_ground_truth_in_table(weights: Path, seq_npy: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("2,5,20,1\n")  # class 2 = "kick", frames [4, 20)
    code = run(["localize", str(seq_npy), "-m", str(weights), "--ground-truth", str(labels)])
    out = capsys.readouterr().out
    assert code == 0
    assert "ground truth" in out and "0.13-   0.67s  kick" in out


def test_ground_truth_count_and_class_checked(weights: Path, seq_npy: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("3,5,20,1\n")  # the model has 2 classes
    other = tmp_path / "other.npy"
    np.save(other, np.load(seq_npy))
    assert run(["localize", str(seq_npy), str(other), "-m", str(weights),
                "-g", str(labels)]) == 2
    assert "one label file per input" in capsys.readouterr().err
    assert run(["localize", str(seq_npy), "-m", str(weights), "-g", str(labels)]) == 2
    assert "outside the model's 2 labels" in capsys.readouterr().err


def test_side_by_side_prefers_a_same_label_segment() -> None:
    from dataclasses import replace

    from skelloc import Segment
    from skelloc.cli.localize import _side_by_side

    gt = Segment("kick", 1, 10, 20, 1.0, 2.0, 1.0)
    wrong = replace(gt, label="wave", label_id=0, score=0.9)  # tIoU 1.0, wrong label
    right = replace(gt, start=12, start_s=1.2, score=0.5)     # tIoU 0.8, right label
    lines = _side_by_side([gt], [wrong, right])
    assert lines[1].endswith("tIoU 0.80 ok")
    assert lines[2].endswith("no ground truth") and "wave" in lines[2]


def test_min_score_hides_weak_segments(weights: Path, seq_npy: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["localize", str(seq_npy), "-m", str(weights), "-f", "json"]) == 0
    scores = [s["score"] for s in json.loads(capsys.readouterr().out)[0]["segments"]]
    cut = sorted(scores)[len(scores) // 2]
    assert run(["localize", str(seq_npy), "-m", str(weights), "-f", "json",
                "--min-score", str(cut)]) == 0
    kept = json.loads(capsys.readouterr().out)[0]["segments"]
    assert len(kept) == sum(s >= cut for s in scores) and all(s["score"] >= cut for s in kept)


def test_cli_prints_the_warning_once_as_one_line(
    weights: Path, seq_npy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.npy", "b.npy"):
        np.save(tmp_path / name, np.load(seq_npy))
    files = [str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]
    assert run(["localize", *files, "-m", str(weights)]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "no frame rate" in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "--fps" in lines[0]
    assert "fps=" not in lines[0], "the CLI names its option, not the Python keyword"
    assert run(["localize", *files, "-m", str(weights), "--fps", "30"]) == 0
    assert "no frame rate" not in capsys.readouterr().err
