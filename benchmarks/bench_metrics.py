"""Benchmark: detection mAP on 100,000 predictions over 1,000 videos, on one CPU core.

    python benchmarks/bench_metrics.py [--predictions 100000] [--videos 1000] [--repeat 3]

Synthetic data shaped like PKU-MMD: 51 classes, ~20 ground-truth instances per video, predictions
scattered around them (jittered boundaries, some wrong labels, some noise).  Reports the best of
``--repeat`` wall times, for records already in memory (``Instance`` lists) and for the whole
call from ActivityNet-style JSON files.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

from skelloc.metrics import Instance, detection_map


def make_data(n_pred: int, n_videos: int, n_classes: int = 51, gt_per_video: int = 20,
              seed: int = 0) -> tuple[list[Instance], list[Instance]]:
    rng = np.random.default_rng(seed)
    gt: list[Instance] = []
    for v in range(n_videos):
        starts = np.sort(rng.integers(0, 6000, gt_per_video))
        lengths = rng.integers(30, 200, gt_per_video)
        labels = rng.integers(1, n_classes + 1, gt_per_video)
        gt += [Instance(f"{v:04d}", int(c), int(s), int(s + ln))
               for c, s, ln in zip(labels, starts, lengths)]
    idx = rng.integers(0, len(gt), n_pred)
    jitter = rng.normal(0, 15, (n_pred, 2))
    wrong = rng.random(n_pred) < 0.2
    noise = rng.random(n_pred) < 0.2
    scores = rng.random(n_pred)
    pred: list[Instance] = []
    for k in range(n_pred):
        g = gt[idx[k]]
        label = int(rng.integers(1, n_classes + 1)) if wrong[k] else g.label
        s = max(0.0, g.start + jitter[k, 0])
        e = max(s + 1.0, g.end + jitter[k, 1])
        if noise[k]:
            s = float(rng.integers(0, 6000))
            e = s + float(rng.integers(10, 200))
        pred.append(Instance(g.video, label, round(s), round(e), float(scores[k])))
    return pred, gt


def to_json(pred: list[Instance], gt: list[Instance], folder: str) -> tuple[str, str]:
    results: dict[str, list] = {}
    for p in pred:
        results.setdefault(p.video, []).append(
            {"label": p.label, "segment": [p.start, p.end], "score": p.score})
    database: dict[str, dict] = {}
    for g in gt:
        database.setdefault(g.video, {"annotations": []})["annotations"].append(
            {"label": g.label, "segment": [g.start, g.end]})
    pp, gp = os.path.join(folder, "pred.json"), os.path.join(folder, "gt.json")
    with open(pp, "w") as f:
        json.dump({"results": results}, f)
    with open(gp, "w") as f:
        json.dump({"database": database}, f)
    return pp, gp


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictions", type=int, default=100_000)
    ap.add_argument("--videos", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    pred, gt = make_data(args.predictions, args.videos)
    print(f"{len(pred)} predictions, {len(gt)} ground-truth instances, {args.videos} videos, "
          f"one CPU core, best of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        pj, gj = to_json(pred, gt, tmp)
        for proto in ("anet", "frameset", "pkummd"):
            res = detection_map(pred, gt, protocol=proto)
            t_mem = best_time(lambda: detection_map(pred, gt, protocol=proto), args.repeat)
            t_json = best_time(lambda: detection_map(pj, gj, protocol=proto), args.repeat)
            ts = ", ".join(f"{t:g}" for t in res.thresholds)
            print(f"{proto:<9} thresholds {ts:<24} average mAP {100 * res.average_mAP:6.2f}  "
                  f"in-memory {t_mem:6.3f} s   from JSON {t_json:6.3f} s")


if __name__ == "__main__":
    main()
