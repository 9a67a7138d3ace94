"""2D vs 3D on identical PKU-MMD validation videos, and the 2D model under pose-estimator noise.

    skelloc prepare pkummd ../shared/data/pkummd-v1 caches/pkummd15 --fps 15 \\
        --val-performances docs/splits/pkummd-v1-val-performances.txt
    skelloc prepare pkummd ../shared/data/pkummd-v1 caches/pkummd15-2d --fps 15 --2d \\
        --val-performances docs/splits/pkummd-v1-val-performances.txt
    python experiments/compare_2d_3d.py --data3d caches/pkummd15 --data2d caches/pkummd15-2d \\
        --model3d stgcn16-scratch-pkummd --model2d stgcn16-coco13-pkummd \\
        --out docs/results/compare_2d_3d.json

Both models are evaluated on the same validation videos (the 3D one on the Kinect joints, the
2D one on the same recordings projected into the Kinect v2 depth camera), ActivityNet protocol,
proposal decoder, tIoU 0.1-0.5: mAP over the eight two-person interaction classes, mAP over
every class with ground truth in the split, frame accuracy, and the number of segments
predicted for classes absent from the split.  Then the 2D model sees the same videos with
noise added to the pixel keypoints before anything else (numpy, seeded per video; an
implementation independent of the training augmentations): the scene in a 1920 x 1080 frame,
dropped joints (score 0), and a realistic mix (jitter, left/right swaps, dropped joints,
estimator-like scores).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

INTERACTIONS = ("giving something to other person", "handshaking", "hugging other person",
                "kicking other person", "pat on back of other person",
                "point finger at the other person", "punching/slapping other person",
                "pushing other person")
FLIP13 = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11)

Noise = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _present(x: np.ndarray) -> np.ndarray:
    return x[..., 2] > 0


def jitter(px: float) -> Noise:
    def f(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = x.copy()
        ok = _present(x)
        out[..., :2] += rng.normal(0.0, px, x[..., :2].shape) * ok[..., None]
        return out
    return f


def drop(rate: float, burst: int = 4) -> Noise:
    def f(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        t = x.shape[0]
        starts = rng.random(x.shape[:3]) < rate / burst  # (T, M, V)
        lost = np.zeros_like(starts)
        for k in range(burst):
            lost[k:] |= starts[: t - k] if k else starts
        out = x.copy()
        out[lost] = 0.0
        return out
    return f


def swap(rate: float) -> Noise:
    def f(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        frames = rng.random(x.shape[:2]) < rate  # (T, M)
        out = x.copy()
        out[frames] = x[frames][:, list(FLIP13)]
        return out
    return f


def scores(low: float) -> Noise:
    def f(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = x.copy()
        ok = _present(x)
        out[..., 2] = np.where(ok, rng.uniform(low, 1.0, ok.shape), 0.0)
        return out
    return f


def full_hd(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same scene in a 1920 x 1080 frame (scale 1080 / 424, centred horizontally)."""
    out = x.copy()
    ok = _present(x)
    s = 1080 / 424
    out[..., 0] = np.where(ok, x[..., 0] * s + (1920 - 512 * s) / 2, 0.0)
    out[..., 1] = np.where(ok, x[..., 1] * s, 0.0)
    return out


def chain(*fns: Noise) -> Noise:
    def f(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for fn in fns:
            x = fn(x, rng)
        return x
    return f


CONDITIONS: dict[str, Noise] = {
    "1920 x 1080 frame": full_hd,
    "10 % joints dropped": drop(0.10),
    "realistic: 3 px jitter, 10 % dropped, 3 % swaps, scores 0.3-1": chain(
        jitter(3.0), swap(0.03), drop(0.10), scores(0.3)),
}


def _noisy_cache(src: Path, dst: Path, ids: list[str], noise: Noise, seed: int) -> Path:
    """A copy of ``src`` holding only ``ids``, their keypoints passed through ``noise``."""
    meta = json.loads((src / "dataset.json").read_text())
    meta["videos"] = [v for v in meta["videos"] if v["id"] in ids]
    (dst / "skeletons").mkdir(parents=True)
    for vid in ids:
        x = np.load(src / "skeletons" / f"{vid}.npy").astype(np.float32)
        rng = np.random.default_rng([seed, zlib.crc32(vid.encode())])
        np.save(dst / "skeletons" / f"{vid}.npy", noise(x, rng).astype(np.float32))
    (dst / "dataset.json").write_text(json.dumps(meta))
    return dst


def summary(res: dict[str, Any]) -> dict[str, Any]:
    per = res["per_class_ap"]
    thresholds = list(res["mAP"])

    def mean_ap(names: list[str]) -> float:
        return float(np.mean([np.mean([per[n][t] for t in thresholds]) for n in names]))

    inter = [n for n in INTERACTIONS if n in per]
    return {
        "average_mAP_interactions": round(mean_ap(inter), 4),
        "average_mAP_all_classes": round(float(res["average_mAP"]), 4),
        "mAP_all_classes": {t: round(float(v), 4) for t, v in res["mAP"].items()},
        "classes_with_ground_truth": len(per),
        "frame_accuracy": round(float(res["frame_accuracy"]), 4),
        "segments_of_absent_classes": res.get("absent_class_segments"),
        "per_class_ap@0.5": {n: round(float(per[n]["0.5"]), 4) for n in inter},
    }


def evaluate(model: Any, cache_path: Path, ids: list[str]) -> dict[str, Any]:
    """What ``skelloc train evaluate`` reports (ActivityNet mAP at tIoU 0.1-0.5 of every
    proposal, per-class AP, frame accuracy), from one forward pass per video
    (:func:`skelloc.analyze`), plus the segments predicted for classes absent from the videos."""
    import skelloc
    from skelloc.metrics.detection import detection_map
    from skelloc.metrics.records import Instance
    from skelloc.skeleton.sequence import SkeletonSequence
    from skelloc.train.data import SkeletonCache, frame_labels

    cache = SkeletonCache(cache_path)
    videos = [cache.by_id[i] for i in ids]
    present = {c for v in videos for c, _, _ in v.segments}
    preds, truth = [], []
    correct = total = absent = 0
    for v in videos:
        seq = SkeletonSequence(cache.load(v.id), layout=cache.layout, fps=cache.fps,
                               meta={"confidence": cache.confidence})
        res = skelloc.analyze(seq, model, nonfinite="interpolate", min_score=0.0)
        labels = frame_labels(v.segments, seq.num_frames, cache.num_classes)
        correct += int((res.probs.argmax(axis=1) == labels).sum())
        total += len(labels)
        for seg in res.segments:
            preds.append(Instance(v.id, int(seg.label_id), seg.start, seg.end, float(seg.score)))
            absent += int(seg.label_id not in present)
        truth.extend(Instance(v.id, int(c), s0, e) for c, s0, e in v.segments)
    det = detection_map(preds, truth, [0.1, 0.2, 0.3, 0.4, 0.5], protocol="anet").to_dict()
    return {"average_mAP": float(np.mean(list(det["mAP"].values()))), "mAP": det["mAP"],
            "per_class_ap": {cache.classes[int(c)]: ap for c, ap in det["per_class_ap"].items()},
            "frame_accuracy": correct / max(total, 1), "absent_class_segments": absent}


def _table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    out = [("| model / input | mAP, 8 interaction classes | mAP, all classes with ground truth "
            "| mAP@0.5 | frame accuracy | segments of absent classes |"),
           "|---|---|---|---|---|---|"]
    for name, s in rows:
        out.append(f"| {name} | {100 * s['average_mAP_interactions']:.1f} | "
                   f"{100 * s['average_mAP_all_classes']:.1f} | "
                   f"{100 * s['mAP_all_classes']['0.5']:.1f} | {100 * s['frame_accuracy']:.1f} | "
                   f"{'-' if s['segments_of_absent_classes'] is None else s['segments_of_absent_classes']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data3d", type=Path, required=True)
    p.add_argument("--data2d", type=Path, required=True)
    p.add_argument("--model3d", default="stgcn16-scratch-pkummd")
    p.add_argument("--model2d", default="stgcn16-coco13-pkummd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--max-videos", type=int, default=None, help="first N videos (smoke test)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import torch

    import skelloc
    from skelloc.train.data import SkeletonCache

    torch.set_num_threads(1)
    c3, c2 = SkeletonCache(a.data3d), SkeletonCache(a.data2d)
    ids3 = sorted(v.id for v in c3.select("val"))
    ids2 = sorted(v.id for v in c2.select("val"))
    if ids3 != ids2 or not ids3:
        print(f"the two caches' validation videos differ: {ids3} vs {ids2}", file=sys.stderr)
        return 2
    ids3 = ids3[: a.max_videos]
    m3, m2 = skelloc.load(a.model3d), skelloc.load(a.model2d)
    rows: list[tuple[str, dict[str, Any]]] = []
    rows.append((f"3D `{a.model3d}` / Kinect joints", summary(evaluate(m3, a.data3d, ids3))))
    rows.append((f"2D `{a.model2d}` / projected keypoints", summary(evaluate(m2, a.data2d,
                                                                               ids3))))
    print(_table(rows), flush=True)
    noise_rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, fn) in enumerate(CONDITIONS.items()):
            path = _noisy_cache(a.data2d, Path(tmp) / f"c{k}", ids3, fn, a.seed)
            noise_rows.append((f"2D, {name}", summary(evaluate(m2, path, ids3))))
            print(_table(noise_rows[-1:]).splitlines()[-1], flush=True)
            shutil.rmtree(path)
    result = {"validation_videos": ids3, "protocol": "anet, proposal decoder, tIoU 0.1-0.5",
              "models": {"3d": a.model3d, "2d": a.model2d},
              "clean": {n: s for n, s in rows}, "noise": {n: s for n, s in noise_rows},
              "seed": a.seed}
    print("\n" + _table(rows + noise_rows))
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(result, indent=1, allow_nan=False)
        tmp_out = a.out.with_suffix(".tmp")
        tmp_out.write_text(text + "\n")
        tmp_out.replace(a.out)
    return 0 if all(math.isfinite(s["average_mAP_all_classes"]) for _, s in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
