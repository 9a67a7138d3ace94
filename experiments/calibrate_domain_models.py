"""Output thresholds (``min_score``) of the models trained on training caches (UTKinect,
BABEL-TAL), chosen on their validation split like ``experiments/validate_models.py`` does for
the PKU-MMD models: every validation video of the cache is localised through the public API with
``skelloc.analyze(seq, model, min_score=0)`` and the score that maximises F1 at tIoU 0.5
(greedy one-to-one matching to same-class ground truth) becomes the model's default.

    python experiments/calibrate_domain_models.py \\
        --model stgcn16-scratch-utkinect=runs/transfer/caches/utkinect \\
        --model stgcn16-snippet-babel=runs/transfer/caches/babel-tal [--write]

The caches are those of ``skelloc prepare utkinect`` / ``skelloc prepare babel-tal`` (see
docs/MODELS.md for the exact commands). ``--write`` stores ``min_score`` in the model's manifest
entry (``inference``), the training split's instances per class (``training_instances``, for
the README's "what each model detects" table) and the F1 figures in its card; weights files are
not touched.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

import skelloc
from skelloc.metrics import Instance
from skelloc.skeleton.sequence import SkeletonSequence
from skelloc.train.data import SkeletonCache

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validate_models import REPO, _atomic_write, best_threshold, f1_at  # noqa: E402

log = logging.getLogger("calibrate_domain_models")


def calibrate(name: str, cache_dir: Path) -> dict[str, Any]:
    cache = SkeletonCache(cache_dir)
    model = skelloc.load(name)
    videos = cache.select("val")
    if not videos:
        raise SystemExit(f"{cache_dir}: no validation videos")
    preds: list[Instance] = []
    gt: list[Instance] = []
    for v in videos:
        seq = SkeletonSequence(cache.load(v.id), layout=cache.layout, fps=cache.fps)
        result = skelloc.analyze(seq, model, min_score=0)
        preds += [Instance.from_segment(s, v.id) for s in result.segments]
        gt += [Instance(v.id, cache.classes[c], s, e) for c, s, e in v.segments]
    threshold, best = best_threshold(preds, gt)
    every = f1_at(preds, gt, 0.0)
    per_video = [sum(p.video == v.id and float(p.score or 0) >= threshold for p in preds)
                 for v in videos]
    counts = dict.fromkeys(cache.classes, 0)
    for v in cache.select("train"):
        for c, _, _ in v.segments:
            counts[cache.classes[c]] += 1
    return {"model": name, "cache": str(cache_dir), "videos": len(videos),
            "training_instances": counts,
            "ground_truth": len(gt), "min_score": threshold, "at_threshold": best,
            "all_proposals": every,
            "segments_per_video_median": statistics.median(per_video)}


def write(results: list[dict[str, Any]]) -> None:
    from skelloc.hub.card import model_card

    path = REPO / "weights_manifest.json"
    manifest = json.loads(path.read_text())
    for r in results:
        entry = manifest["models"][r["model"]]
        entry.setdefault("inference", {})["min_score"] = r["min_score"]
        entry["training_instances"] = r["training_instances"]
        b = r["at_threshold"]
        entry.setdefault("card", {})["output_threshold"] = (
            f"Default output threshold `min_score` {r['min_score']:.2f}: the score that maximises "
            f"F1 at tIoU 0.5 on the {r['videos']} validation videos of the cache "
            f"(F1 {b['F1']:.1f}, precision {b['precision']:.1f}, recall {b['recall']:.1f}; "
            f"median segments per video {r['segments_per_video_median']:g}), by "
            "`python experiments/calibrate_domain_models.py`. Evaluation uses every proposal.")
    _atomic_write(path, json.dumps(manifest, indent=2) + "\n")
    for r in results:
        entry = manifest["models"][r["model"]]
        card = REPO / "docs" / "model_cards" / f"{r['model']}.md"
        _atomic_write(card, model_card(r["model"], entry, extra=dict(entry.get("card") or {})))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True, metavar="NAME=CACHE")
    p.add_argument("--write", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    results = []
    for item in a.model:
        name, _, cache = item.partition("=")
        r = calibrate(name, Path(cache))
        log.info("%s", json.dumps(r, indent=1))
        results.append(r)
    if a.write:
        write(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
