"""``skelloc localize`` output feeds ``skelloc evaluate``: real files, the bundled model.

The example clip (PKU-MMD 0015-L, 55 s, 8 official instances) is localised from a folder and
from a glob, written as ActivityNet JSON and as a PKU-MMD label folder, and evaluated against its
official label file in a ground-truth folder matched by file stem.  Both routes, and the same
evaluation done in Python, must give the same numbers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from skelloc.cli import run
from skelloc.errors import LabelMismatchError
from skelloc.inference.segments import Segment
from skelloc.io.writers import segments_to_activitynet
from skelloc.metrics import Instance, detection_map

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "examples" / "pkummd_0015-L_clip.npy"
CLIP_LABELS = REPO / "examples" / "pkummd_0015-L_clip_labels.txt"
MESSY = REPO / "tests" / "io" / "fixtures" / "messy_labels" / "0015-L_clip.txt"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``inputs/0015-L_clip.npy`` and ``gt/0015-L_clip.txt`` (the official labels)."""
    root = tmp_path_factory.mktemp("roundtrip")
    (root / "inputs").mkdir()
    (root / "gt").mkdir()
    shutil.copy(CLIP, root / "inputs" / "0015-L_clip.npy")
    shutil.copy(CLIP_LABELS, root / "gt" / "0015-L_clip.txt")
    return {"root": root, "inputs": root / "inputs", "gt": root / "gt"}


@pytest.fixture(scope="module")
def predictions(folders: dict[str, Path]) -> dict[str, Path]:
    root = folders["root"]
    anet, pk = root / "pred.json", root / "pred_pkummd"
    assert run(["localize", str(folders["inputs"]), "--format", "anet", "--out", str(anet)]) == 0
    assert run(["localize", str(folders["inputs"] / "*.npy"), "--format", "pkummd",
                "--out", str(pk)]) == 0
    return {"anet": anet, "pkummd": pk}


def _evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert run(["evaluate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_localize_writes_anet_keyed_by_stem_and_pkummd_label_files(
        predictions: dict[str, Path]) -> None:
    doc = json.loads(predictions["anet"].read_text())
    assert list(doc["results"]) == ["0015-L_clip"] and doc["fps"] == {"0015-L_clip": 30.0}
    first = doc["results"]["0015-L_clip"][0]
    assert set(first) == {"label", "label_id", "score", "segment", "frames"}
    assert first["segment"][0] == pytest.approx(first["frames"][0] / 30)
    lines = (predictions["pkummd"] / "0015-L_clip.txt").read_text().splitlines()
    assert len(lines) == len(doc["results"]["0015-L_clip"])
    cid, start, end, score = lines[0].split(",")
    # PKU-MMD ids of the names (24 = point finger), 1-based inclusive frames
    assert int(cid) == first["label_id"] + 1 == 24
    assert (int(start), int(end)) == (first["frames"][0] + 1, first["frames"][1])
    assert float(score) == pytest.approx(first["score"], rel=1e-5)


@pytest.mark.parametrize("protocol", ["anet", "pkummd", "frameset"])
def test_round_trip_both_formats_agree_with_python(
        folders: dict[str, Path], predictions: dict[str, Path],
        capsys: pytest.CaptureFixture[str], protocol: str) -> None:
    gt = str(folders["gt"])
    a = _evaluate(capsys, str(predictions["anet"]), gt, "-p", protocol)
    b = _evaluate(capsys, str(predictions["pkummd"]), gt, "-p", protocol)
    assert a["mAP"] == pytest.approx(b["mAP"]) and a["num_ground_truth"] == 8
    # the same evaluation in Python, from the names the model gives (mapped to PKU-MMD ids)
    doc = json.loads(predictions["anet"].read_text())["results"]["0015-L_clip"]
    pred = [Instance("0015-L_clip", p["label"], *p["frames"], p["score"]) for p in doc]
    res = detection_map(pred, folders["gt"], None, protocol)  # type: ignore[arg-type]
    assert {str(k): v for k, v in res.mAP.items()} == pytest.approx(a["mAP"])
    if protocol == "anet":
        # 7 of the 8 official instances are found with the right label at tIoU >= 0.5 (the
        # README's quickstart table); measured 91.67 % mAP@0.5 with the bundled model
        assert a["mAP"]["0.5"] > 0.85


def test_localize_json_list_is_read_by_evaluate(
        folders: dict[str, Path], predictions: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    listing = folders["root"] / "list.json"
    # json is a display format: the model's output threshold applies unless --min-score 0
    assert run(["localize", str(folders["inputs"]), "--format", "json", "--min-score", "0",
                "-o", str(listing)]) == 0
    a = _evaluate(capsys, str(listing), str(folders["gt"]))
    b = _evaluate(capsys, str(predictions["anet"]), str(folders["gt"]))
    assert a["mAP"] == pytest.approx(b["mAP"])


def test_names_from_python_are_mapped_to_pkummd_ids(
        folders: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """ActivityNet JSON written from Python with class names (seconds only, no frames)
    scored 0.00 against the numeric label folder; now names map to ids and seconds to frames."""
    segs = [Segment("giving something to other person", 11, 301, 430, 301 / 30, 430 / 30, 0.9),
            Segment("hugging other person", 15, 1507, 1630, 1507 / 30, 1630 / 30, 0.8)]
    doc = segments_to_activitynet({"0015-L_clip": segs})
    for items in doc["results"].values():
        for item in items:
            del item["frames"], item["label_id"]  # what another tool writes
    pred = folders["root"] / "names.json"
    pred.write_text(json.dumps(doc))
    res = _evaluate(capsys, str(pred), str(folders["gt"]), "-t", "0.5", "--per-class")
    assert res["per_class_ap"]["12"]["0.5"] == 1.0 and res["per_class_ap"]["16"]["0.5"] == 1.0
    assert res["mAP"]["0.5"] == pytest.approx(2 / 8)


def test_no_label_in_common_is_one_line_and_exit_2(
        folders: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    pred = folders["root"] / "foreign.json"
    pred.write_text(json.dumps({"results": {"0015-L_clip": [
        {"label": "wave", "segment": [1.0, 3.0], "score": 0.9}]}}))
    capsys.readouterr()
    assert run(["evaluate", str(pred), str(folders["gt"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no predicted label is a ground-truth "
                                               "class") and "--classes" in err[0]
    with pytest.raises(LabelMismatchError):  # names against ids: never right
        detection_map(pred, folders["gt"])
    ids = [Instance("0015-L_clip", 3, 10, 50, 0.9)]  # an id absent from the ground truth
    assert detection_map(ids, folders["gt"]).average_mAP == 0.0  # a warning in Python
    with pytest.raises(LabelMismatchError):
        detection_map(ids, folders["gt"], strict_labels=True)
    # with the right class list the name maps: a classes.txt (id,name) naming class 24 "wave"
    classes = folders["root"] / "classes.txt"
    classes.write_text("24,wave\n")
    capsys.readouterr()
    assert run(["evaluate", str(pred), str(folders["gt"]), "--classes", str(classes)]) == 0


def test_gt_folder_by_stem_and_messy_rows(folders: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          caplog: pytest.LogCaptureFixture) -> None:
    """``--gt FOLDER`` matches inputs by stem; a folder with the messy copy of the labels
    (a reversed row as in the official 0043-L, rows past the clip's end) never aborts."""
    gt = tmp_path / "gt"
    gt.mkdir()
    shutil.copy(MESSY, gt / "0015-L_clip.txt")
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(CLIP, inputs / "0015-L_clip.npy")
    shutil.copy(CLIP, inputs / "unlabelled.npy")
    with caplog.at_level("WARNING"):  # warnings are log records (stderr in a shell)
        code = run(["localize", str(inputs / "*.npy"), "--gt", str(gt), "--min-score", "0.5"])
    assert code == 0
    assert "0015-L_clip.txt:2: label row '1,4925,4036,2'" in caplog.text
    assert "unlabelled.npy: no ground truth unlabelled.txt" in caplog.text
    table = capsys.readouterr().out
    assert "ground truth" in table and "point finger at the other person" in table
    assert table.count("(1637 frames at 30 fps") == 2
    # evaluate against the messy folder: exit 0, one warning naming file and line
    pred = tmp_path / "pred.json"
    assert run(["localize", str(inputs / "0015-L_clip.npy"), "-f", "anet", "-o", str(pred)]) == 0
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert run(["evaluate", str(pred), str(gt), "-t", "0.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_ground_truth"] == 5
    warned = [r.getMessage() for r in caplog.records if "ends before it starts" in r.getMessage()]
    assert len(warned) == 1 and f"{gt / '0015-L_clip.txt'}:2:" in warned[0]


def test_format_names(folders: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["localize", str(CLIP), "--format", "mmpose"]) == 2
    err = capsys.readouterr().err
    assert "--input-format mmpose" in err and "--format is the output's" in err
    assert run(["localize", str(CLIP), "--format", "pkummd"]) == 2
    assert "--out DIR" in capsys.readouterr().err
    assert run(["extract", str(CLIP), "--format", "npy", "--out", str(folders["root"])]) == 2
    assert "--format is now --input-format" in capsys.readouterr().err


def test_real_pkummd_videos_round_trip(pkummd_root: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Two official videos of one performance (folder of .npy via a glob), labels unchanged."""
    gt = tmp_path / "gt"
    gt.mkdir()
    for vid in ("0005-L", "0005-M"):
        shutil.copy(pkummd_root / "labels" / f"{vid}.txt", gt)
    pred = tmp_path / "pred.json"
    assert run(["localize", str(pkummd_root / "skeletons" / "0005-[LM].npy"), "-f", "anet",
                "-o", str(pred)]) == 0
    assert set(json.loads(pred.read_text())["results"]) == {"0005-L", "0005-M"}
    res = _evaluate(capsys, str(pred), str(gt), "-t", "0.5")
    assert res["num_videos"] == 2 and res["num_ground_truth"] == sum(
        len((gt / f).read_text().split()) for f in ("0005-L.txt", "0005-M.txt"))
    assert res["mAP"]["0.5"] > 0.5  # a training video of the bundled model: well above chance


def test_classes_from_a_models_labels(weights: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``--classes MODEL``: the model's labels number the classes (id = position + 1)."""
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "clip.txt").write_text("2,31,60,2\n")  # class 2 = the model's second label, "kick"
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"results": {"clip": [
        {"label": "kick", "segment": [1.0, 2.0], "score": 0.9}]}}))  # frames [30, 60) at 30 fps
    assert run(["evaluate", str(pred), str(gt)]) == 2  # "kick" is no PKU-MMD class
    capsys.readouterr()
    res = _evaluate(capsys, str(pred), str(gt), "--classes", str(weights), "-t", "0.5")
    assert res["mAP"]["0.5"] == 1.0
