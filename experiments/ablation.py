"""Does snippet contrast help? The factorial ablation of the paper's two claims on PKU-MMD.

One command runs (or resumes) every cell and writes the report::

    python experiments/ablation.py --data CACHE --out runs/ablation --doc docs/RESULTS.md

``CACHE`` is a ``skelloc prepare pkummd`` cache carrying the validation split of
``docs/splits/pkummd-v1-val-performances.txt``. Factors:

* pretraining in {none, global (SkeletonCLR), global + snippet (SkeletonCLR + snippet branch)},
  one pretraining run per seed (pretraining seed = finetuning seed = the cell's seed);
* head in {simple, ufusion, tconv (parameter-matched temporal convs on the last block)};
* labels in {20 % of the training videos (a different seeded subset per seed), 100 %};
* seeds (3 by default).

Model selection: the **last epoch** of every run (no selection on the validation split at all);
the validation split is used only for the numbers reported. Each finished run leaves
``result.json`` (+ ``frames.npz``) in its own folder and is skipped when the command is run again,
so an interrupted ablation resumes where it stopped. Budgets are small (see ``--pretrain-epochs``
and ``--finetune-epochs``) so that the whole table fits a 2-core CPU; the report states them.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import logging
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("ablation")

PRETRAININGS = ("none", "global", "snippet")
HEADS = ("simple", "ufusion", "tconv")
LABELS = (0.2, 1.0)


@dataclass(frozen=True)
class Cell:
    pretrain: str
    head: str
    labels: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.pretrain}__{self.head}__{int(round(self.labels * 100))}__s{self.seed}"


def _base_config(args: argparse.Namespace, seed: int) -> Any:
    from skelloc.train.config import apply_overrides, load_config

    cfg = load_config(args.recipe)
    return apply_overrides(cfg, {
        "data.path": str(args.data),
        "seed": seed,
        "progress": False,
        "num_threads": args.threads,
        "device": "cpu",
        "max_steps": args.max_steps,
    })


def pretrain_one(args: argparse.Namespace, kind: str, seed: int) -> str:
    """Pretrain one encoder (``kind`` in global/snippet); returns the weights path."""
    from skelloc.train.config import apply_overrides
    from skelloc.train.pretrain import run_pretrain

    out = Path(args.out) / "pretrain" / f"{kind}-s{seed}"
    weights = out / "pretrain.safetensors"
    if weights.is_file():
        return str(weights)
    cfg = apply_overrides(_base_config(args, seed), {
        "pretrain.method": "skeletonclr",
        "pretrain.global_loss": True,
        "pretrain.snippet": kind == "snippet",
        "pretrain.epochs": args.pretrain_epochs,
        "pretrain.milestones": [max(1, int(args.pretrain_epochs * 0.8))],
    })
    t0 = time.time()
    path = run_pretrain(cfg, out, resume=(out / "checkpoint.pt").is_file())
    (out / "time.json").write_text(json.dumps({"seconds": time.time() - t0}))
    return str(path)


def finetune_one(args: argparse.Namespace, cell: Cell, init: str | None) -> str:
    """Finetune and evaluate one cell; writes ``result.json`` and ``frames.npz``."""
    from skelloc.train.config import apply_overrides
    from skelloc.train.finetune import run_finetune

    out = Path(args.out) / "finetune" / cell.key
    result_path = out / "result.json"
    if result_path.is_file():
        return str(result_path)
    epochs = args.finetune_epochs
    cfg = apply_overrides(_base_config(args, cell.seed), {
        "model.head": cell.head,
        "data.label_fraction": cell.labels,
        "data.label_seed": 1000 + cell.seed,
        "finetune.protocol": "semi" if cell.labels < 1.0 else "finetune",
        "finetune.epochs": epochs,
        "finetune.warmup_epochs": 1,
        "finetune.milestones": [max(1, int(epochs * 0.8))],
        "finetune.eval_every": 10**6,
        "eval.max_videos": 0,  # no validation during training: the last epoch is reported
    })
    t0 = time.time()
    run_finetune(cfg, out, init=init, resume=(out / "checkpoint.pt").is_file())
    seconds = time.time() - t0
    evaluate_cell(args, cell, out / "last.safetensors", out, train_seconds=seconds)
    return str(result_path)


def evaluate_cell(args: argparse.Namespace, cell: Cell, weights: Path, out: Path,
                  train_seconds: float, device: str = "cpu") -> dict[str, Any]:
    """Per-video predictions on the validation split, kept for paired bootstrap analysis;
    returns what it writes to ``result.json``."""
    import torch

    from skelloc.api import predict_frames
    from skelloc.inference.decode import decode_proposals
    from skelloc.metrics.detection import detection_map
    from skelloc.metrics.records import Instance
    from skelloc.models.localizer import Localizer
    from skelloc.skeleton.sequence import SkeletonSequence
    from skelloc.train.data import SkeletonCache, frame_labels

    torch.set_num_threads(args.threads)
    model = Localizer.load(weights).to(device)
    cache = SkeletonCache(args.data)
    videos = cache.select("val")
    background = cache.num_classes
    per_video: dict[str, Any] = {}
    frames: dict[str, np.ndarray] = {}
    preds, gts = [], []
    for rec in videos:
        seq = SkeletonSequence(cache.load(rec.id), layout=cache.layout, fps=cache.fps)
        probs = predict_frames(seq, model, nonfinite="interpolate")
        dets = decode_proposals(probs)
        truth = frame_labels(rec.segments, seq.num_frames, background)
        frames[f"{rec.id}/pred"] = probs.argmax(axis=1).astype(np.int16)
        frames[f"{rec.id}/gt"] = np.asarray(truth, dtype=np.int16)
        per_video[rec.id] = {
            "detections": [[d.label_id, d.start, d.end, round(float(d.score), 6)] for d in dets],
            "ground_truth": [list(map(int, s)) for s in rec.segments],
        }
        preds += [Instance(rec.id, d.label_id, d.start, d.end, float(d.score)) for d in dets]
        gts += [Instance(rec.id, int(c), int(s), int(e)) for c, s, e in rec.segments]
    det = detection_map(preds, gts, (0.1, 0.2, 0.3, 0.4, 0.5), protocol="anet")
    acc = float(np.mean(np.concatenate([frames[f"{v.id}/pred"] == frames[f"{v.id}/gt"]
                                        for v in videos])))
    result = {
        "cell": {"pretrain": cell.pretrain, "head": cell.head, "labels": cell.labels,
                 "seed": cell.seed},
        "metrics": {"mAP": det.to_dict()["mAP"], "average_mAP": float(det.average_mAP),
                    "frame_accuracy": acc},
        "fps": cache.fps,
        "train_seconds": train_seconds,
        "model_selection": "last epoch",
        "videos": per_video,
    }
    np.savez_compressed(out / "frames.npz", **frames)
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(result))
    os.replace(tmp, out / "result.json")
    return result


def _priority(cell: Cell) -> int:
    """Run order when compute is short: the snippet claim, then the U-head claim, then the rest."""
    if cell.head == "ufusion":
        return 0  # pretraining factor with the paper's head
    if cell.pretrain == "snippet":
        return 1  # head factor (incl. the parameter-matched control) with the paper's pretraining
    return 2  # the interaction cells


def _cells(args: argparse.Namespace) -> list[Cell]:
    cells = [Cell(p, h, f, s) for s in args.seeds for p in args.pretrainings for h in args.heads
             for f in args.labels]
    return sorted(cells, key=lambda c: (_priority(c), c.seed))


def run_all(args: argparse.Namespace) -> None:
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        kinds = [p for p in args.pretrainings if p != "none"]
        futures = {(k, s): pool.submit(pretrain_one, args, k, s) for s in args.seeds for k in kinds}
        inits = {key: f.result() for key, f in futures.items()}
        logger.info("pretraining done: %d encoders", len(inits))
        jobs = []
        for cell in _cells(args):  # submitted in priority order; the pool runs them FIFO
            init = None if cell.pretrain == "none" else inits[(cell.pretrain, cell.seed)]
            jobs.append(pool.submit(finetune_one, args, cell, init))
        for i, job in enumerate(cf.as_completed(jobs), 1):
            logger.info("[%d/%d] %s", i, len(jobs), job.result())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="skelloc prepare pkummd cache")
    parser.add_argument("--out", default=Path("runs/ablation"), type=Path)
    parser.add_argument("--doc", default=None, type=Path, help="write the report here")
    parser.add_argument("--recipe", default="pkummd-stgcn16")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pretrainings", nargs="+", default=list(PRETRAININGS),
                        choices=PRETRAININGS)
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=HEADS)
    parser.add_argument("--labels", type=float, nargs="+", default=list(LABELS))
    parser.add_argument("--pretrain-epochs", type=int, default=6)
    parser.add_argument("--finetune-epochs", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2, help="parallel runs (processes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--max-steps", type=int, default=None, help="cap per run (smoke tests)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation_args.json").write_text(json.dumps(
        {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, indent=1))
    if not args.report_only:
        run_all(args)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ablation_report import write_report

    write_report(args.out, args.doc, data=args.data, budget=vars(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
