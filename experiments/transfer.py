"""Does PKU-MMD pretraining transfer to new domains? (issue 17; results in docs/RESULTS.md)

On UTKinect-Action3D (daily actions, Kinect v1) and BABEL-TAL BT20 on CMU motion capture, a
quarter-width ST-GCN + U-fusion head (the ``pkummd-stgcn16`` recipe's model) is finetuned from

* ``snippet``: the bundled PKU-MMD snippet-contrastive encoder (``stgcn16-snippet-pkummd-encoder``),
* ``scratch``: the encoder of the bundled PKU-MMD model trained from scratch
  (``stgcn16-scratch-pkummd``),
* ``random``: random initialisation,

(one person, 15 fps, 10 s windows, batch 8, 40 Adam steps at 1e-3 per cell) with 100 %, 50 %
and 25 % of the training subjects (``max(1, round(f * n))`` subjects drawn per
seed, the same draw for every initialisation), for several seeds, and scored on the validation
subjects (ActivityNet mAP, tIoU 0.1-0.5, averaged). Every cell trains for the same number of
optimizer steps (constant Adam learning rate), so fewer subjects means more passes over them.
BABEL-TAL is multi-label: ``model.output = "sigmoid"`` there.

Paired bootstrap: validation videos are resampled with replacement (the same draws for every
initialisation); for each draw the seed-averaged average mAP of each initialisation is computed
on the drawn videos and the differences taken; their 2.5/97.5 percentiles are the 95 %
interval. Numbers in the table are average mAP in percent (mean ± standard deviation over
seeds).

    OMP_NUM_THREADS=1 python experiments/transfer.py --out runs/transfer --report docs/RESULTS.md

Data is read from ``../shared/data`` (research-only; never copied into the repository).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
INITS = ("snippet", "scratch", "random")
DOMAINS: dict[str, dict[str, Any]] = {
    "babel-tal": {"val_subjects": ["06"], "output": "sigmoid"},
    "utkinect": {"val_subjects": ["s06", "s07", "s08"], "output": "softmax"},
}
TIOU = (0.1, 0.2, 0.3, 0.4, 0.5)
logger = logging.getLogger("transfer")


def prepare_caches(out: Path) -> dict[str, Path]:
    from skelloc.io.prepare_domains import prepare_babel_tal, prepare_utkinect

    caches = {"utkinect": out / "caches" / "utkinect", "babel-tal": out / "caches" / "babel-tal"}
    if not (caches["utkinect"] / "dataset.json").is_file():
        prepare_utkinect(SHARED / "utkinect-v1", caches["utkinect"],
                         val_subjects=DOMAINS["utkinect"]["val_subjects"])
    if not (caches["babel-tal"] / "dataset.json").is_file():
        prepare_babel_tal(SHARED / "babel-cmu-v1", caches["babel-tal"],
                          val_subjects=DOMAINS["babel-tal"]["val_subjects"])
    return caches


def export_inits(out: Path) -> dict[str, Path | None]:
    """The two bundled PKU-MMD encoders as model folders that ``--init`` accepts."""
    import skelloc

    paths: dict[str, Path | None] = {"random": None}
    for name, hub in (("snippet", "stgcn16-snippet-pkummd-encoder"),
                      ("scratch", "stgcn16-scratch-pkummd")):
        path = out / "init" / name
        if not (path / "encoder.safetensors").is_file():
            skelloc.load(hub, load_head=False).save(path)
        paths[name] = path
    return paths


def subset_cache(base: Path, dst: Path, subjects: list[str]) -> Path:
    """A cache folder whose training videos are those of ``subjects`` (validation unchanged);
    the skeletons are the base cache's (a symbolic link)."""
    data = json.loads((base / "dataset.json").read_text())
    keep = set(subjects)
    data["videos"] = [v for v in data["videos"]
                      if v["split"] == "val" or (v["split"] == "train" and v["performance"] in keep)]
    data["train_subjects"] = sorted(keep)
    dst.mkdir(parents=True, exist_ok=True)
    link = dst / "skeletons"
    if not link.exists():
        try:
            link.symlink_to((base / "skeletons").resolve(), target_is_directory=True)
        except FileExistsError:  # another worker made it
            pass
    tmp = dst / f"dataset.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, dst / "dataset.json")  # atomic: a second worker may read it meanwhile
    return dst


def train_cell(cache: Path, out: Path, init: Path | None, output: str, seed: int,
               steps: int) -> Path:
    from skelloc.train import load_config, run_finetune

    overrides = [
        f"data.path={json.dumps(str(cache))}", f"seed={seed}", "device=\"cpu\"",
        "num_threads=1", "progress=false", f"model.output=\"{output}\"",
        f"max_steps={steps}", "finetune.epochs=100000", "finetune.warmup_epochs=0",
        "finetune.milestones=[]", "finetune.lr=0.001", "finetune.batch_size=8",
        "finetune.eval_every=100000", "eval.max_videos=0", "checkpoint_every=0",
        "data.finetune_window=150", "data.max_persons=1",  # single-person data
    ]
    if not (out / "last.safetensors").is_file():
        run_finetune(load_config("pkummd-stgcn16", overrides), out, init=init)
    return out / "last.safetensors"


def predict(model_path: Path, cache: Path) -> dict[str, Any]:
    """Segments of the model on every validation video, and the ground truth."""
    import skelloc
    from skelloc.train.data import SkeletonCache

    model = skelloc.load(str(model_path))
    data = SkeletonCache(cache)
    preds, truth = {}, {}
    for rec in data.select("val"):
        seq = skelloc.SkeletonSequence(data.load(rec.id), layout=data.layout, fps=data.fps)
        preds[rec.id] = [[s.label_id, s.start, s.end, s.score]
                         for s in skelloc.localize(seq, model, nonfinite="interpolate")]
        truth[rec.id] = [list(x) for x in rec.segments]
    return {"predictions": preds, "ground_truth": truth}


def average_map(result: dict[str, Any], videos: list[str]) -> float:
    """ActivityNet average mAP over TIOU on ``videos`` (repeats count as distinct videos)."""
    from skelloc.metrics.detection import detection_map
    from skelloc.metrics.records import Instance

    pred, gt = [], []
    for i, vid in enumerate(videos):
        key = f"{vid}#{i}"
        pred += [Instance(key, c, s, e, sc) for c, s, e, sc in result["predictions"][vid]]
        gt += [Instance(key, c, s, e) for c, s, e in result["ground_truth"][vid]]
    return float(detection_map(pred, gt, list(TIOU), protocol="anet").average_mAP)


def bootstrap(runs: dict[str, list[dict[str, Any]]], n: int, seed: int = 0,
              ) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Paired bootstrap over validation videos: for each pair of initialisations, the
    difference of their seed-averaged average mAP, on all videos and its 95 % interval over
    ``n`` draws of the videos with replacement (the same draws for every initialisation)."""
    videos = sorted(next(iter(runs.values()))[0]["ground_truth"])
    rng = random.Random(seed)
    draws = [videos] + [[rng.choice(videos) for _ in videos] for _ in range(n)]
    score = {k: np.array([np.mean([average_map(r, d) for r in v]) for d in draws])
             for k, v in runs.items()}
    out = {}
    for a, b in (("snippet", "random"), ("scratch", "random"), ("snippet", "scratch")):
        diff = score[a] - score[b]
        lo, hi = np.percentile(diff[1:], [2.5, 97.5])
        out[(a, b)] = (float(diff[0]), float(lo), float(hi))
    return out


def report(results: dict[str, Any], n_boot: int) -> str:
    header = ("| domain | train subjects | snippet | scratch | random | snippet - random [95 % CI] "
              "| scratch - random [95 % CI] | snippet - scratch [95 % CI] |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for domain, per_fraction in results.items():
        for frac, cell in per_fraction.items():
            runs = {k: cell["runs"][k] for k in INITS}
            means = {k: np.mean([r["average_mAP"] for r in v]) for k, v in runs.items()}
            sds = {k: np.std([r["average_mAP"] for r in v]) for k, v in runs.items()}
            row = [domain, f"{frac} ({cell['num_subjects']})"]
            row += [f"{100 * means[k]:.1f} ± {100 * sds[k]:.1f}" for k in INITS]
            for d, lo, hi in bootstrap(runs, n_boot).values():
                row.append(f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "transfer")
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS))
    parser.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.5, 0.25])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per cell")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--reverse", action="store_true",
                        help="visit cells in reverse order (a second worker on the same --out; "
                             "a cell another worker is training is skipped, then waited for)")
    parser.add_argument("--report", type=Path, default=None,
                        help="Markdown file whose transfer section is replaced")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("skelloc").setLevel(logging.WARNING)
    import torch

    torch.set_num_threads(1)
    out = args.out
    caches = prepare_caches(out)
    inits = export_inits(out)
    results: dict[str, Any] = {}
    plan = []  # (domain, fraction, seed, subjects, init)
    for domain in args.domains:
        meta = json.loads((caches[domain] / "dataset.json").read_text())
        subjects = sorted({v["performance"] for v in meta["videos"] if v["split"] == "train"})
        for frac in args.fractions:
            k = max(1, round(frac * len(subjects)))
            for seed in args.seeds:
                chosen = sorted(random.Random(1000 + seed).sample(subjects, k))
                plan.extend((domain, frac, seed, chosen, init) for init in INITS)
    todo = list(reversed(plan)) if args.reverse else plan
    for _ in range(2):  # second pass: cells another worker held during the first
        for domain, frac, seed, chosen, init in todo:
            run_cell(out, caches[domain], inits, domain, frac, seed, chosen, init, args.steps)
    for domain, frac, seed, chosen, init in plan:
        cell = results.setdefault(domain, {}).setdefault(
            f"{frac:g}", {"num_subjects": len(chosen), "runs": {i: [] for i in INITS}})
        res_path = out / domain / f"{frac:g}" / init / f"seed{seed}" / "val_predictions.json"
        while not res_path.is_file():  # another worker is finishing it
            time.sleep(10)
        cell["runs"][init].append(json.loads(res_path.read_text()))
    table = report(results, args.bootstrap)
    print(table)
    (out / "transfer_table.md").write_text(table + "\n")
    if args.report is not None:
        _write_section(args.report, table, args)
    return 0


def run_cell(out: Path, base: Path, inits: dict[str, Path | None], domain: str, frac: float,
             seed: int, chosen: list[str], init: str, steps: int) -> None:
    """Train and score one cell unless done; a lock file keeps two workers off one cell."""
    run_dir = out / domain / f"{frac:g}" / init / f"seed{seed}"
    res_path = run_dir / "val_predictions.json"
    if res_path.is_file():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = os.open(run_dir / ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    try:
        t0 = time.time()
        cache = subset_cache(base, out / "caches" / f"{domain}-{frac:g}-s{seed}", chosen)
        weights = train_cell(cache, run_dir, inits[init], DOMAINS[domain]["output"], seed, steps)
        res = predict(weights, cache)
        res["subjects"] = chosen
        res["average_mAP"] = average_map(res, sorted(res["ground_truth"]))
        res["seconds"] = round(time.time() - t0, 1)
        res_path.write_text(json.dumps(res))
        logger.info("%s %g %s seed %d: subjects %s, average mAP %.3f (%.0f s)", domain, frac,
                    init, seed, chosen, res["average_mAP"], res["seconds"])
    finally:
        os.close(lock)
        os.unlink(run_dir / ".lock")


def _write_section(path: Path, table: str, args: argparse.Namespace) -> None:
    begin, end = "<!-- transfer:begin -->", "<!-- transfer:end -->"
    cmd = ("OMP_NUM_THREADS=1 python experiments/transfer.py --out runs/transfer --report "
           "docs/RESULTS.md" + ("" if args.seeds == [0, 1, 2] else
                                " --seeds " + " ".join(map(str, args.seeds))))
    block = f"{begin}\n`{cmd}`:\n\n{table}\n{end}"
    text = path.read_text()
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
