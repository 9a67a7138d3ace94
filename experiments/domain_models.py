"""Train and package ``stgcn16-snippet-babel`` and ``stgcn16-snippet-utkinect`` (issue 17).

1. ``pretrain``: snippet-contrastive pretraining (the ``pkummd-stgcn16`` recipe's RVTCLR + snippet
   branch) on every unlabelled skeleton sequence in ``../shared/data`` converted to ``ntu25``:
   the 193 PKU-MMD videos, the 16 UTKinect sequences and the 29 CMU motions. On this CPU budget
   it continues from the bundled PKU-MMD snippet encoder (``--pretrain-steps`` SGD steps) rather
   than starting from random weights.
2. ``babel``: finetune that encoder on the BT20 training sequences (multi-label,
   ``model.output = "sigmoid"``), validation = CMU subject 06 (carved by subject).
3. ``utkinect``: pick the encoder (PKU-MMD snippet, PKU-MMD scratch, or the one of step 1) with
   the best validation average mAP in the transfer protocol at 100 % of the training subjects
   (``experiments/transfer.py``, seeds 0-2; runs of the first two are read from its output),
   then finetune it on UTKinect subjects 1-5 (validation: subjects 6-8).
4. ``release``: evaluate both on their validation splits, export them with model cards and
   package them into ``skelloc/weights`` + ``weights_manifest.json`` (``release_models.package``).

    OMP_NUM_THREADS=1 python experiments/domain_models.py --out runs/domains all
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE), str(REPO / "tools")]  # tools/release_models.py

import transfer  # experiments/transfer.py: caches, cells, scoring

logger = logging.getLogger("domain_models")
BABEL, UTK = "stgcn16-snippet-babel", "stgcn16-snippet-utkinect"
FINETUNE_STEPS = 150


def union_cache(out: Path, caches: dict[str, Path]) -> Path:
    """An unlabelled cache of every sequence in ../shared (symbolic links, 30 fps, ntu25)."""
    dst = out / "caches" / "union"
    (dst / "skeletons").mkdir(parents=True, exist_ok=True)
    videos = []
    sources = {"pkummd": transfer.SHARED / "pkummd-v1" / "skeletons",
               "utk": caches["utkinect"] / "skeletons", "cmu": caches["babel-tal"] / "skeletons"}
    for prefix, folder in sources.items():
        for f in sorted(folder.glob("*.npy")):
            vid = f"{prefix}_{f.stem}"
            link = dst / "skeletons" / f"{vid}.npy"
            if not link.exists():
                link.symlink_to(f.resolve())
            frames = int(np.load(f, mmap_mode="r").shape[0])
            videos.append({"id": vid, "num_frames": frames, "performance": vid, "split": "train",
                           "segments": []})
    meta = {"format": "skelloc-cache", "version": 1, "dataset": "union-unlabelled", "fps": 30.0,
            "layout": "ntu25", "classes": [], "background_index": 0, "videos": videos}
    (dst / "dataset.json").write_text(json.dumps(meta, indent=1))
    logger.info("union cache: %d sequences, %d frames at 30 fps", len(videos),
                sum(v["num_frames"] for v in videos))
    return dst


def pretrain(out: Path, union: Path, init: Path, steps: int) -> Path:
    from skelloc.train import load_config, run_pretrain

    result = out / "pretrain" / "pretrain.safetensors"
    if result.is_file():
        return result
    cfg = load_config("pkummd-stgcn16", [
        f"data.path={json.dumps(str(union))}", "data.val_fraction=0.0", f"max_steps={steps}",
        "pretrain.batch_size=16", "pretrain.epochs=100000", "pretrain.milestones=[]",
        "pretrain.warmup_epochs=0", "pretrain.lr=0.01", "num_threads=1", "device=\"cpu\"",
        "progress=false", "checkpoint_every=0"])
    return run_pretrain(cfg, out / "pretrain", init=init)


def finetune(cache: Path, run: Path, init: Path, output: str, steps: int) -> Path:
    from skelloc.train import load_config, run_finetune

    if not (run / "last.safetensors").is_file():
        cfg = load_config("pkummd-stgcn16", [
            f"data.path={json.dumps(str(cache))}", "seed=0", "device=\"cpu\"", "num_threads=1",
            "progress=false", f"model.output=\"{output}\"", f"max_steps={steps}",
            "finetune.epochs=100000", "finetune.warmup_epochs=0", "finetune.milestones=[]",
            "finetune.lr=0.001", "finetune.batch_size=8", "finetune.eval_every=100000",
            "checkpoint_every=0", "data.finetune_window=150", "data.max_persons=1"])
        run_finetune(cfg, run, init=init)
    return run / "last.safetensors"


def pick_utk_encoder(out: Path, transfer_out: Path, caches: dict[str, Path],
                     union_encoder: Path) -> tuple[str, dict[str, float]]:
    """Mean validation average mAP (transfer protocol, 100 %, seeds 0-2) of each encoder; the
    runs of the two PKU-MMD encoders are experiments/transfer.py's (waited for)."""
    import time

    scores: dict[str, float] = {}
    vals = []
    for seed in (0, 1, 2):
        run = out / "select" / f"seed{seed}"
        res_path = run / "val_predictions.json"
        if not res_path.is_file():
            weights = transfer.train_cell(caches["utkinect"], run, union_encoder, "softmax", seed,
                                          40)
            res = transfer.predict(weights, caches["utkinect"])
            res["average_mAP"] = transfer.average_map(res, sorted(res["ground_truth"]))
            res_path.write_text(json.dumps(res))
        vals.append(json.loads(res_path.read_text())["average_mAP"])
    scores["union-snippet"] = float(np.mean(vals))
    for init in ("snippet", "scratch"):
        vals = []
        for seed in (0, 1, 2):
            f = transfer_out / "utkinect" / "1" / init / f"seed{seed}" / "val_predictions.json"
            while not f.is_file():
                logger.info("waiting for %s (experiments/transfer.py)", f)
                time.sleep(30)
            vals.append(json.loads(f.read_text())["average_mAP"])
        scores[f"pkummd-{init}"] = float(np.mean(vals))
    return max(scores, key=lambda k: scores[k]), scores


def class_counts(cache: Path) -> dict[str, dict[str, int]]:
    data = json.loads((cache / "dataset.json").read_text())
    out: dict[str, dict[str, int]] = collections.defaultdict(lambda: collections.Counter())
    for v in data["videos"]:
        for c, _, _ in v["segments"]:
            out[v["split"]][data["classes"][c]] += 1
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("stage", choices=["pretrain", "babel", "utkinect", "release", "all"])
    p.add_argument("--out", type=Path, default=REPO / "runs" / "domains")
    p.add_argument("--transfer-out", type=Path, default=REPO / "runs" / "transfer")
    p.add_argument("--pretrain-steps", type=int, default=30)
    p.add_argument("--finetune-steps", type=int, default=FINETUNE_STEPS)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch

    torch.set_num_threads(1)
    out = a.out
    caches = transfer.prepare_caches(a.transfer_out)
    inits = transfer.export_inits(a.transfer_out)
    state_path = out / "state.json"
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.is_file() else {}
    stages = ["pretrain", "babel", "utkinect", "release"] if a.stage == "all" else [a.stage]
    out.mkdir(parents=True, exist_ok=True)
    encoder = out / "pretrain" / "pretrain.safetensors"
    if "pretrain" in stages:
        encoder = pretrain(out, union_cache(out, caches), inits["snippet"], a.pretrain_steps)
        state["pretrain_steps"] = a.pretrain_steps
    if "babel" in stages:
        state["babel_weights"] = str(finetune(caches["babel-tal"], out / "babel", encoder,
                                              "sigmoid", a.finetune_steps))
    if "utkinect" in stages:
        best, scores = pick_utk_encoder(out, a.transfer_out, caches, encoder)
        state["utk_selection"] = scores
        state["utk_encoder"] = best
        init = {"pkummd-snippet": inits["snippet"], "pkummd-scratch": inits["scratch"],
                "union-snippet": encoder}[best]
        state["utk_weights"] = str(finetune(caches["utkinect"], out / "utkinect", init,
                                            "softmax", a.finetune_steps))
    state["finetune_steps"] = a.finetune_steps
    state_path.write_text(json.dumps(state, indent=1))
    if "release" in stages:
        from release_domains import release

        release(state, caches, class_counts)
    print(json.dumps(state, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
