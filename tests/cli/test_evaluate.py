"""`skelloc evaluate` through the real CLI entry point, on the files in examples/metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skelloc.cli import run

EX = Path(__file__).resolve().parents[2] / "examples" / "metrics"
JSON_ARGS = [str(EX / "pred.json"), str(EX / "gt.json")]
PKU_ARGS = [str(EX / "pkummd" / "pred"), str(EX / "pkummd" / "gt")]


def evaluate_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict:
    assert run(["evaluate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["evaluate", *JSON_ARGS, "--protocol", "frameset", "--tiou", "0.3,0.4"]) == 0
    out = capsys.readouterr().out
    # clip1 "wave" at theta .4 is the hand case of tests/metrics (AP 2/3); clip2 "jump" has a
    # perfect detection plus a low-score false positive (AP 1) -> mAP (2/3 + 1)/2 = 83.33 %.
    # At .3 the released 2-frame IoU of 1/3 passes -> 100 %.
    assert "frameset" in out
    assert "100.00   83.33   91.67" in out


def test_json_output_per_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    anet = evaluate_json(capsys, [*JSON_ARGS, "-t", "0.4"])
    assert anet["protocol"] == "anet" and anet["mAP"] == {"0.4": 1.0}
    pk = evaluate_json(capsys, [*JSON_ARGS, "-p", "pkummd", "-t", "0.4"])
    # wave 5/9 (tests/metrics hand case), jump: p0 = 1/2, r0 = 1, the .1 false positive is
    # skipped, removing .9 adds 1/2 -> 1/2.  mAP_action = (5/9 + 1/2) / 2 = 19/36.
    assert pk["mAP"]["0.4"] == pytest.approx(19 / 36)
    assert pk["per_class_ap"]["wave"]["0.4"] == pytest.approx(5 / 9)
    assert pk["extra"]["mAP_action_official"]["0.4"] == pytest.approx((5 / 9 + 1 / 2) / 51)
    assert pk["options"]["num_classes"] == 51


@pytest.mark.parametrize("protocol", ["anet", "pkummd", "frameset"])
def test_pkummd_folders_equal_json(capsys: pytest.CaptureFixture[str], protocol: str) -> None:
    # The label folders hold the same instances in 1-based inclusive frames (wave=1, jump=2).
    a = evaluate_json(capsys, [*JSON_ARGS, "-p", protocol, "-t", "0.3", "-t", "0.4,0.5"])
    b = evaluate_json(capsys, [*PKU_ARGS, "-p", protocol, "-t", "0.3", "-t", "0.4,0.5"])
    assert a["mAP"] == pytest.approx(b["mAP"])
    assert a["extra"].keys() == b["extra"].keys()
    for key in a["extra"]:
        assert a["extra"][key] == pytest.approx(b["extra"][key])


def test_errors_exit_with_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(["evaluate", str(tmp_path / "nope.json"), JSON_ARGS[1]]) == 2
    assert "no such file" in capsys.readouterr().err
    assert run(["evaluate", JSON_ARGS[1], JSON_ARGS[0]]) == 2  # swapped
    assert "swap" in capsys.readouterr().err
    assert run(["evaluate", *JSON_ARGS, "-p", "voc"]) == 2
    assert "unknown protocol" in capsys.readouterr().err
    assert run(["evaluate", *JSON_ARGS, "-t", "high"]) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "clip1.txt").write_text("1,1,oops,0.5\n")
    assert run(["evaluate", str(bad), PKU_ARGS[1]]) == 2
    assert "clip1.txt:1" in capsys.readouterr().err


def test_per_class_rows_and_plot_name_pkummd_classes(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    assert run(["evaluate", *PKU_ARGS, "--per-class"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("AP ")]
    assert [r.split("  ")[0] for r in rows] == ["AP 1 bow", "AP 2 brushing hair"]
    assert run(["evaluate", *JSON_ARGS, "--per-class"]) == 0  # names in JSON stay as they are
    assert any(ln.startswith("AP wave") for ln in capsys.readouterr().out.splitlines())
    pytest.importorskip("matplotlib")
    from skelloc.cli.evaluate import class_names
    from skelloc.metrics import detection_map
    from skelloc.viz import plot_evaluation

    result = detection_map(*PKU_ARGS)
    fig = plot_evaluation(result, class_names=class_names(result.classes, Path(PKU_ARGS[1])))
    ticks = {t.get_text() for ax in fig.axes for t in ax.get_yticklabels()}
    assert {"1 bow", "2 brushing hair"} <= ticks
