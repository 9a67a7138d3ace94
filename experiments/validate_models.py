"""Validation numbers of every shipped model, through the public API, and its output defaults.

For each bundled model with a head, every video of the validation split
(``docs/splits/pkummd-v1-val-performances.txt``: all views of those performances in
``../shared/data/pkummd-v1``) is read with ``skelloc.read(path, fps=30)`` and localised with
``skelloc.analyze(seq, model, min_score=0)`` (every proposal, the model's own calibration
switched off), and scored against the **official 30 fps label files** (0-based, end exclusive
after reading the 1-based inclusive frames):

* ActivityNet mAP at tIoU 0.1-0.5 and their average, over all classes in the ground truth and
  over the 8 two-person interaction classes; frame accuracy of the frame-wise argmax;
* boundary bias: start and end offsets (frames at 30 fps) of the proposals matched at tIoU 0.5;
* the **boundary calibration** ``boundary_shift = [start, end]`` seconds added to every segment:
  a grid of 0..10 frames later starts x 0..14 frames earlier ends (at 30 fps) is scored by
  average mAP; the best is kept when it gains at least ``--min-gain`` points, else none;
* the **output threshold** ``min_score``: the score (grid 0.00-0.95, step 0.01) that maximises F1
  at tIoU 0.5 (a proposal is a true positive when it is matched one-to-one, greedily by score, to
  a ground-truth instance of its class with tIoU >= 0.5), with precision, recall and segments
  per video at that threshold.

The chosen ``min_score`` and ``boundary_shift`` are then set as the model's inference defaults
and the videos are localised once more with plain ``skelloc.localize(seq, model)``: the F1 and
segments per video reported are those of that default call, and the mAP is that of
``min_score=0`` with the calibration (evaluation never applies the output threshold).

    python experiments/validate_models.py                   # print the numbers (about 3 min)
    python experiments/validate_models.py --write           # and store them: weights_manifest.json
                                                            # (inference defaults, metrics, card),
                                                            # docs/model_cards/, docs/validation.json

The weights files are not touched (their SHA-256 in the manifest stays valid).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import skelloc
from skelloc.io.pkummd import read_pkummd_classes, read_pkummd_labels
from skelloc.metrics import Instance, detection_map, segment_iou

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "pkummd-v1"
SPLIT = REPO / "docs" / "splits" / "pkummd-v1-val-performances.txt"
TIOUS = (0.1, 0.2, 0.3, 0.4, 0.5)
FPS = 30.0
INTERACTIONS = ("giving something to other person", "handshaking", "hugging other person",
                "kicking other person", "pat on back of other person",
                "point finger at the other person", "punching/slapping other person",
                "pushing other person")
THRESHOLDS = tuple(round(0.01 * k, 2) for k in range(96))
START_FRAMES = range(11)   # later starts, frames at 30 fps
END_FRAMES = range(15)     # earlier ends, frames at 30 fps

log = logging.getLogger("validate_models")


# --------------------------------------------------------------------------- data
def validation_videos(data: Path, split: Path) -> list[str]:
    perfs = {ln.strip() for ln in split.read_text().splitlines()
             if ln.strip() and not ln.startswith("#")}
    videos = [v.strip() for v in (data / "videos.txt").read_text().splitlines() if v.strip()]
    return sorted(v for v in videos if v.split("-")[0] in perfs)


def training_instances(data: Path, val_videos: Sequence[str]) -> dict[str, int]:
    """Instances per class name in the training videos (every video not in validation)."""
    names = read_pkummd_classes(data / "classes.txt")
    counts = dict.fromkeys(names.values(), 0)
    val = set(val_videos)
    for vid in (v.strip() for v in (data / "videos.txt").read_text().splitlines()):
        if vid and vid not in val:
            for inst in read_pkummd_labels(data / "labels" / f"{vid}.txt"):
                counts[names[inst.label]] += 1
    return counts


def ground_truth(data: Path, videos: Sequence[str]) -> tuple[list[Instance], dict[str, int]]:
    names = read_pkummd_classes(data / "classes.txt")
    out: list[Instance] = []
    frames: dict[str, int] = {}
    for vid in videos:
        frames[vid] = int(np.load(data / "skeletons" / f"{vid}.npy", mmap_mode="r").shape[0])
        for inst in read_pkummd_labels(data / "labels" / f"{vid}.txt"):
            out.append(Instance(vid, names[inst.label], inst.start, min(inst.end, frames[vid])))
    return out, frames


# --------------------------------------------------------------------------- scoring
def shifted(preds: list[Instance], frames: dict[str, int], start: int, end: int) -> list[Instance]:
    """Predictions with ``start`` frames added to starts and ``end`` to ends (30 fps frames)."""
    out = []
    for p in preds:
        s = min(max(p.start + start, 0), frames[p.video] - 1)
        e = min(max(p.end + end, s + 1), frames[p.video])
        out.append(Instance(p.video, p.label, s, e, p.score))
    return out


def mean_ap(preds: list[Instance], gt: list[Instance], classes: Sequence[str] | None = None
            ) -> dict[str, float]:
    if classes is not None:
        preds = [p for p in preds if p.label in classes]
        gt = [g for g in gt if g.label in classes]
    res = detection_map(preds, gt, list(TIOUS), protocol="anet")
    out: dict[str, Any] = {f"mAP@{t}": 100 * float(v) for t, v in zip(TIOUS, res.mAP.values())}
    out["average_mAP"] = 100 * float(res.average_mAP)
    out["per_class_ap"] = {str(c): {str(t): 100 * float(ap[t]) for t in TIOUS}
                           for c, ap in res.per_class_ap.items()}
    return out


def match(preds: list[Instance], gt: list[Instance], tiou: float = 0.5
          ) -> list[tuple[Instance, Instance]]:
    """One-to-one matches at ``tiou``: predictions by descending score, each taking the
    unmatched same-class ground truth of highest tIoU."""
    by_key: dict[tuple[str, str], list[Instance]] = {}
    for g in gt:
        by_key.setdefault((g.video, str(g.label)), []).append(g)
    used: set[int] = set()
    pairs = []
    for p in sorted(preds, key=lambda x: -float(x.score or 0.0)):
        cands = [g for g in by_key.get((p.video, str(p.label)), []) if id(g) not in used]
        if not cands:
            continue
        ious = segment_iou(np.array([p.start]), np.array([p.end]),
                           np.array([g.start for g in cands]), np.array([g.end for g in cands]))
        ious = np.asarray(ious).reshape(-1)
        k = int(np.argmax(ious))
        if ious[k] >= tiou:
            used.add(id(cands[k]))
            pairs.append((p, cands[k]))
    return pairs


def f1_at(preds: list[Instance], gt: list[Instance], threshold: float) -> dict[str, float]:
    kept = [p for p in preds if float(p.score or 0.0) >= threshold]
    tp = len(match(kept, gt))
    precision = tp / len(kept) if kept else 0.0
    recall = tp / len(gt) if gt else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"F1": 100 * f1, "precision": 100 * precision, "recall": 100 * recall,
            "segments": len(kept)}


def best_threshold(preds: list[Instance], gt: list[Instance]) -> tuple[float, dict[str, float]]:
    """The threshold of highest F1 at tIoU 0.5 (ties: the higher threshold, fewer segments)."""
    scored = [(t, f1_at(preds, gt, t)) for t in THRESHOLDS]
    return max(scored, key=lambda x: (round(x[1]["F1"], 9), x[0]))


def boundary_bias(preds: list[Instance], gt: list[Instance], threshold: float) -> dict[str, float]:
    pairs = match([p for p in preds if float(p.score or 0.0) >= threshold], gt)
    ds = [p.start - g.start for p, g in pairs]
    de = [p.end - g.end for p, g in pairs]
    ratio = [(p.end - p.start) / (g.end - g.start) for p, g in pairs]
    return {"matched": len(pairs), "start_offset_median": float(statistics.median(ds)),
            "start_offset_mean": float(np.mean(ds)), "end_offset_median": float(statistics.median(de)),
            "end_offset_mean": float(np.mean(de)), "length_ratio_mean": float(np.mean(ratio))}


# --------------------------------------------------------------------------- one model
def read_for(model: Any, path: Path) -> Any:
    """The recording as ``model`` takes it: the Kinect joints, or for a model of 2D keypoints
    the same joints projected into the Kinect v2 depth camera (``prepare pkummd --2d``)."""
    seq = skelloc.read(path, fps=FPS)
    spec = model.input_spec
    if spec.channels - int(getattr(spec, "confidence", False)) != 2:
        return seq
    from skelloc.io.prepare import image2d_keypoints
    from skelloc.skeleton.sequence import SkeletonSequence

    return SkeletonSequence(image2d_keypoints(seq.joints), layout="coco13", fps=FPS,
                            meta={"confidence": True})


def run_model(name: str, data: Path, videos: list[str], gt: list[Instance],
              frames: dict[str, int], min_gain: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = skelloc.load(name)
    model.set_inference_defaults(min_score=None, boundary_shift=None)  # measure the raw decoder
    labels = list(model.labels)
    background = len(labels)
    names = read_pkummd_classes(data / "classes.txt")
    index = {n: i for i, n in enumerate(labels)}
    preds: list[Instance] = []
    correct = total = 0
    for vid in videos:
        seq = read_for(model, data / "skeletons" / f"{vid}.npy")
        result = skelloc.analyze(seq, model, min_score=0)
        preds += [Instance(vid, s.label, s.start, s.end, s.score) for s in result.segments]
        truth = np.full(seq.num_frames, background)
        for inst in read_pkummd_labels(data / "labels" / f"{vid}.txt"):
            truth[inst.start:inst.end] = index[names[inst.label]]
        correct += int((result.probs.argmax(axis=1) == truth).sum())
        total += seq.num_frames
    raw_threshold, raw_f1 = best_threshold(preds, gt)
    raw = {"all": mean_ap(preds, gt), "interactions": mean_ap(preds, gt, INTERACTIONS),
           "threshold": raw_threshold, "at_threshold": raw_f1,
           "boundary_bias_frames": boundary_bias(preds, gt, raw_threshold)}

    grid = {(a, -b): mean_ap(shifted(preds, frames, a, -b), gt)["average_mAP"]
            for a in START_FRAMES for b in END_FRAMES}
    (a, b), best = max(grid.items(), key=lambda kv: (round(kv[1], 9), -abs(kv[0][0]) - abs(kv[0][1])))
    bias = raw["boundary_bias_frames"]
    med = (round(-bias["start_offset_median"]), round(-bias["end_offset_median"]))
    undo = shifted(preds, frames, *med)  # undo the median bias exactly
    raw["median_bias_shift"] = {"frames": list(med), **mean_ap(undo, gt),
                                "F1": best_threshold(undo, gt)[1]["F1"]}
    top = shifted(preds, frames, a, b)
    raw["grid_best_shift"] = {"frames": [a, b], **mean_ap(top, gt),
                              "F1": best_threshold(top, gt)[1]["F1"]}
    gain = best - raw["all"]["average_mAP"]
    shift = (a / FPS, b / FPS) if gain >= min_gain else (0.0, 0.0)
    calibrated = shifted(preds, frames, *((a, b) if gain >= min_gain else (0, 0)))
    threshold, _ = best_threshold(calibrated, gt)

    # the defaults as a user gets them: plain localize(seq, model)
    inference: dict[str, Any] = {"min_score": threshold}
    if shift != (0.0, 0.0):
        inference["boundary_shift"] = [round(shift[0], 4), round(shift[1], 4)]
    model.set_inference_defaults(**inference)
    default_preds: list[Instance] = []
    all_preds: list[Instance] = []
    per_video: list[int] = []
    for vid in videos:
        seq = read_for(model, data / "skeletons" / f"{vid}.npy")
        segs = skelloc.localize(seq, model)
        per_video.append(len(segs))
        default_preds += [Instance(vid, s.label, s.start, s.end, s.score) for s in segs]
        all_preds += [Instance(vid, s.label, s.start, s.end, s.score)
                      for s in skelloc.localize(seq, model, min_score=0)]
    gt_per_video = [sum(g.video == v for g in gt) for v in videos]
    return {
        "model": name,
        "videos": len(videos),
        "ground_truth_instances": len(gt),
        "ground_truth_per_video_median": float(statistics.median(gt_per_video)),
        "frame_accuracy": 100 * correct / total,
        "uncalibrated": raw,
        "calibration": {"grid_best_frames": [a, b], "grid_best_average_mAP": best,
                        "gain": gain, "min_gain": min_gain, "applied": shift != (0.0, 0.0)},
        "inference": inference,
        "calibrated": {"all": mean_ap(all_preds, gt),
                       "interactions": mean_ap(all_preds, gt, INTERACTIONS),
                       "boundary_bias_frames": boundary_bias(all_preds, gt, threshold)},
        "default_output": {**f1_at(default_preds, gt, 0.0),
                           "segments_per_video_median": float(statistics.median(per_video)),
                           "segments_per_video_mean": float(np.mean(per_video)),
                           "segments_per_video_max": int(max(per_video))},
        "all_proposals_per_video_median": float(statistics.median(
            [sum(p.video == v for p in all_preds) for v in videos])),
        "seconds": time.perf_counter() - t0,
    }


# --------------------------------------------------------------------------- writing
def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def metrics_entry(r: dict[str, Any]) -> dict[str, Any]:
    c, d = r["calibrated"]["all"], r["default_output"]
    out: dict[str, Any] = {k: round(v / 100, 4) for k, v in c.items() if k != "per_class_ap"}
    out["interactions_average_mAP"] = round(r["calibrated"]["interactions"]["average_mAP"] / 100, 4)
    out["frame_accuracy"] = round(r["frame_accuracy"] / 100, 4)
    out["F1@0.5"] = round(d["F1"] / 100, 4)
    out["segments_per_video"] = d["segments_per_video_median"]
    out["split"] = "val (docs/splits/pkummd-v1-val-performances.txt, 30 videos)"
    out["protocol"] = "anet, official 30 fps labels, all proposals (min_score=0)"
    out["command"] = "python experiments/validate_models.py"
    return out


def details(r: dict[str, Any]) -> str:
    c, u, d = r["calibrated"], r["uncalibrated"], r["default_output"]
    inf = r["inference"]
    shift = inf.get("boundary_shift")
    bias = u["boundary_bias_frames"]
    rows = ["| | " + " | ".join(f"mAP@{t}" for t in TIOUS) + " | average |",
            "|---|" + "---|" * (len(TIOUS) + 1)]
    for title, m in (("all classes", c["all"]), ("8 interaction classes", c["interactions"]),
                     ("all classes, no calibration", u["all"])):
        rows.append(f"| {title} | " + " | ".join(f"{m[f'mAP@{t}']:.1f}" for t in TIOUS)
                    + f" | {m['average_mAP']:.1f} |")
    per_class = ["| class | " + " | ".join(f"AP@{t}" for t in TIOUS) + " |",
                 "|---|" + "---|" * len(TIOUS)]
    for name, ap in sorted(c["all"]["per_class_ap"].items()):
        per_class.append(f"| {name} | " + " | ".join(f"{ap[str(t)]:.1f}" for t in TIOUS) + " |")
    return (
        "Validation split (30 videos of 10 performances, official PKU-MMD labels at 30 fps), "
        "computed through the public API by `python experiments/validate_models.py` "
        "(ActivityNet protocol, every proposal: `localize(..., min_score=0)`):\n\n"
        + "\n".join(rows) + "\n\n"
        f"Frame accuracy {r['frame_accuracy']:.1f} %. Default output (`skelloc.localize(seq)`, "
        f"output threshold `min_score` {inf['min_score']:.2f}, the score that maximises F1 at "
        f"tIoU 0.5 on this split): F1 {d['F1']:.1f} (precision {d['precision']:.1f}, recall "
        f"{d['recall']:.1f}), {d['segments_per_video_median']:g} segments per video (median; "
        f"{r['ground_truth_per_video_median']:g} ground-truth actions), against "
        f"{r['all_proposals_per_video_median']:g} proposals with `min_score=0`. Boundaries: "
        f"matched proposals started {-bias['start_offset_median']:g} frames early and ended "
        f"{bias['end_offset_median']:g} late (medians at 30 fps, tIoU 0.5); "
        + (f"the calibration `boundary_shift` [{shift[0]:.3f}, {shift[1]:.3f}] s "
           f"raised the average mAP by {r['calibration']['gain']:.1f} points."
           if shift else
           f"no calibration kept: undoing the median bias gave average mAP "
           f"{u['median_bias_shift']['average_mAP']:.1f} (F1 {u['median_bias_shift']['F1']:.1f}), "
           f"the best shift of the grid ({u['grid_best_shift']['frames'][0]:+d} / "
           f"{u['grid_best_shift']['frames'][1]:+d} frames) "
           f"{u['grid_best_shift']['average_mAP']:.1f} (F1 {u['grid_best_shift']['F1']:.1f}), "
           f"against {u['all']['average_mAP']:.1f} (F1 {u['at_threshold']['F1']:.1f}) without; "
           f"a shift is kept only when it gains {r['calibration']['min_gain']:g} points.")
        + "\n\nPer-class AP (%), every class of the validation ground truth:\n\n"
        + "\n".join(per_class)
    )


def write(results: list[dict[str, Any]], out_json: Path, counts: dict[str, int]) -> None:
    from skelloc.hub.card import model_card

    path = REPO / "weights_manifest.json"
    manifest = json.loads(path.read_text())
    by_name = {r["model"]: r for r in results}
    for name, entry in manifest["models"].items():
        r = by_name.get(name)
        if r is not None:
            entry["training_instances"] = {n: counts.get(n, 0)
                                           for n in entry["labels"]["names"]}
            entry["inference"] = dict(r["inference"])
            entry["metrics"] = metrics_entry(r)
            entry.setdefault("card", {})["validation_details"] = details(r)
    for name, entry in manifest["models"].items():  # encoder-only entries: their full model
        full = by_name.get(name.removesuffix("-encoder"))
        if name.endswith("-encoder") and full is not None:
            entry.setdefault("card", {})["validation_details"] = (
                "Encoder only (no head): per-frame features for other localisation frameworks "
                f"(`skelloc extract --model {name} --level encoder`). The finetuned model built "
                f"on it, `{full['model']}`, scores: " + details(full))
    _atomic_write(path, json.dumps(manifest, indent=2) + "\n")
    for name, entry in manifest["models"].items():
        card = REPO / "docs" / "model_cards" / f"{name}.md"
        _atomic_write(card, model_card(name, entry, extra=dict(entry.get("card") or {})))
    previous = json.loads(out_json.read_text()) if out_json.is_file() else []
    kept = [r for r in previous if r.get("model") not in by_name and r.get("model") in manifest["models"]]
    _atomic_write(out_json, json.dumps(kept + results, indent=1) + "\n")


def _pkummd_model(name: str) -> bool:
    """A model with a head whose classes are PKU-MMD's (the only ones this split can score)."""
    entry = skelloc.model_info(name).entry
    if not (entry.get("head") or {}).get("name"):
        return False
    names = (entry.get("labels") or {}).get("names") or []
    return "pku-mmd" in (entry.get("datasets") or []) and len(names) == 51


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--split", type=Path, default=SPLIT)
    p.add_argument("--models", nargs="*", default=None, help="default: every model with a head")
    p.add_argument("--min-gain", type=float, default=0.5,
                   help="keep a boundary calibration only if it gains this many mAP points")
    p.add_argument("--write", action="store_true",
                   help="store the results in the manifest, the model cards and --json")
    p.add_argument("--json", type=Path, default=REPO / "docs" / "validation.json")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    videos = validation_videos(a.data, a.split)
    gt, frames = ground_truth(a.data, videos)
    names = a.models or [n for n in skelloc.list_models() if _pkummd_model(n)]
    results = []
    for name in names:
        r = run_model(name, a.data, videos, gt, frames, a.min_gain)
        log.info("%s", json.dumps(r, indent=1))
        results.append(r)
    log.info("%s", summary(results))
    if a.write:
        write(results, a.json, training_instances(a.data, videos))
    return 0


def summary(results: list[dict[str, Any]]) -> str:
    """The Markdown rows docs/MODELS.md and the README quote."""
    head = ("| model | " + " | ".join(f"mAP@{t}" for t in TIOUS) + " | average | frame acc. | "
            "min_score | F1@0.5 | P / R | segments per video (all proposals) |")
    rows = [head, "|---" * (len(TIOUS) + 7) + "|"]
    for r in results:
        c, d = r["calibrated"]["all"], r["default_output"]
        rows.append(
            f"| `{r['model']}` | " + " | ".join(f"{c[f'mAP@{t}']:.1f}" for t in TIOUS)
            + f" | {c['average_mAP']:.1f} | {r['frame_accuracy']:.1f} | "
            f"{r['inference']['min_score']:.2f} | {d['F1']:.1f} | {d['precision']:.1f} / "
            f"{d['recall']:.1f} | {d['segments_per_video_median']:g} "
            f"({r['all_proposals_per_video_median']:g}) |")
    rows += ["", ("| model | starts early / ends late (median frames at 30 fps) | length vs truth | "
                  "no shift: avg mAP, mAP@0.5, F1 | undo the median bias | best grid shift | kept |"),
             "|---|---|---|---|---|---|---|"]
    for r in results:
        u = r["uncalibrated"]
        b, m, g = u["boundary_bias_frames"], u["median_bias_shift"], u["grid_best_shift"]

        def cell(x: dict[str, Any]) -> str:
            return f"{x['average_mAP']:.1f}, {x['mAP@0.5']:.1f}, {x['F1']:.1f}"

        rows.append(
            f"| `{r['model']}` | {-b['start_offset_median']:g} / {b['end_offset_median']:g} | "
            f"{100 * b['length_ratio_mean']:.0f} % | {cell({**u['all'], 'F1': u['at_threshold']['F1']})} | "
            f"{m['frames'][0]:+d}/{m['frames'][1]:+d}: {cell(m)} | "
            f"{g['frames'][0]:+d}/{g['frames'][1]:+d}: {cell(g)} | "
            f"{'yes' if r['calibration']['applied'] else 'no'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
