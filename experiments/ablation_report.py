"""Tables, paired bootstrap intervals, boundary analysis and the plot for ``ablation.py``.

``python experiments/ablation_report.py --out runs/ablation --doc docs/RESULTS.md --data CACHE``
rebuilds the report from the per-run ``result.json`` files alone.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TIOUS = (0.1, 0.2, 0.3, 0.4, 0.5)
PRETRAIN_NAMES = {"none": "none (random init)", "global": "global (SkeletonCLR)",
                  "snippet": "global + snippet"}
BOOTSTRAP = 1000


def load_results(out: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted((out / "finetune").glob("*/result.json")):
        run = json.loads(path.read_text())
        run["dir"] = str(path.parent)
        runs.append(run)
    return runs


def _key(run: dict[str, Any]) -> tuple[str, str, float]:
    c = run["cell"]
    return c["pretrain"], c["head"], float(c["labels"])


def _interpolated_ap(tp: np.ndarray, n_gt: int) -> float:
    """ActivityNet's VOC-style interpolated AP from TP flags sorted by descending score."""
    if n_gt == 0 or tp.size == 0:
        return 0.0
    ctp = np.cumsum(tp)
    rec = ctp / n_gt
    prec = ctp / np.arange(1, tp.size + 1)
    mprec = np.concatenate([[0.0], prec, [0.0]])
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


class VideoMatches:
    """Per-video ActivityNet matching of one run, precomputed once.

    Matching happens only within a video (greedy by descending score), so each prediction's
    TP/FP flag at each tIoU is the same in every bootstrap resample; a resample's mAP is then a
    cheap re-pooling of these flags. :meth:`average_map` on all videos equals
    ``detection_map(..., protocol="anet").average_mAP`` (checked in :func:`write_report`).
    """

    def __init__(self, run: dict[str, Any]) -> None:
        self.videos = sorted(run["videos"])
        t = np.asarray(TIOUS)
        # per video: {class: (scores (n,), tp (n, len(TIOUS)))}, {class: n_gt}
        self.pred: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
        self.ngt: dict[str, dict[int, int]] = {}
        self.classes: set[int] = set()
        for vid in self.videos:
            entry = run["videos"][vid]
            gts = defaultdict(list)
            for c, s, e in entry["ground_truth"]:
                gts[int(c)].append((s, e))
            self.ngt[vid] = {c: len(v) for c, v in gts.items()}
            self.classes |= set(gts)
            byc = defaultdict(list)
            for c, s, e, sc in entry["detections"]:
                byc[int(c)].append((sc, s, e))
            self.pred[vid] = {}
            for c, dets in byc.items():
                dets.sort(key=lambda d: -d[0])
                g = np.asarray(gts.get(c, []), dtype=float).reshape(-1, 2)
                tp = np.zeros((len(dets), len(t)))
                used = np.zeros((len(g), len(t)), dtype=bool)
                for i, (_, s, e) in enumerate(dets):
                    if not len(g):
                        break
                    inter = np.clip(np.minimum(e, g[:, 1]) - np.maximum(s, g[:, 0]), 0, None)
                    union = (e - s) + (g[:, 1] - g[:, 0]) - inter
                    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
                    order = np.argsort(-iou, kind="stable")
                    for k, thr in enumerate(t):
                        for j in order:
                            if iou[j] < thr:
                                break
                            if not used[j, k]:
                                used[j, k] = True
                                tp[i, k] = 1
                                break
                self.pred[vid][c] = (np.asarray([d[0] for d in dets]), tp)

    def average_map(self, videos: Sequence[str]) -> float:
        aps = np.zeros(len(TIOUS))
        classes = sorted({c for v in videos for c in self.ngt[v]})
        if not classes:
            return float("nan")
        for c in classes:
            n_gt = sum(self.ngt[v].get(c, 0) for v in videos)
            parts = [self.pred[v][c] for v in videos if c in self.pred[v]]
            if not parts:
                continue
            scores = np.concatenate([p[0] for p in parts])
            tp = np.concatenate([p[1] for p in parts])
            order = np.argsort(-scores, kind="stable")
            for k in range(len(TIOUS)):
                aps[k] += _interpolated_ap(tp[order, k], n_gt)
        return float(np.mean(aps / len(classes)))


def paired_bootstrap(arm_a: list[dict[str, Any]], arm_b: list[dict[str, Any]],
                     rng: np.random.Generator, n: int = BOOTSTRAP) -> dict[str, float]:
    """Mean over matched seeds of (A - B) average mAP, with a percentile 95 % CI over videos."""
    by_seed_a = {r["cell"]["seed"]: r for r in arm_a}
    by_seed_b = {r["cell"]["seed"]: r for r in arm_b}
    seeds = sorted(set(by_seed_a) & set(by_seed_b))
    if not seeds:
        return {"diff": math.nan, "lo": math.nan, "hi": math.nan, "seeds": 0}
    ma = [_matches(by_seed_a[s]) for s in seeds]
    mb = [_matches(by_seed_b[s]) for s in seeds]
    videos = ma[0].videos
    point = float(np.mean([by_seed_a[s]["metrics"]["average_mAP"]
                           - by_seed_b[s]["metrics"]["average_mAP"] for s in seeds]))
    diffs = []
    for _ in range(n):
        sample = [videos[i] for i in rng.integers(0, len(videos), len(videos))]
        diffs.append(np.mean([a.average_map(sample) - b.average_map(sample)
                              for a, b in zip(ma, mb)]))
    lo, hi = np.nanpercentile(diffs, [2.5, 97.5])
    return {"diff": point, "lo": float(lo), "hi": float(hi), "seeds": len(seeds)}


_MATCH_CACHE: dict[str, VideoMatches] = {}


def _matches(run: dict[str, Any]) -> VideoMatches:
    if run["dir"] not in _MATCH_CACHE:
        vm = VideoMatches(run)
        full = vm.average_map(vm.videos)
        if abs(full - run["metrics"]["average_mAP"]) > 1e-3:  # score ties may reorder slightly
            raise RuntimeError(f"{run['dir']}: bootstrap re-pooling gives {full:.5f}, "
                               f"detection_map gave {run['metrics']['average_mAP']:.5f}")
        _MATCH_CACHE[run["dir"]] = vm
    return _MATCH_CACHE[run["dir"]]


def boundary_table(runs: list[dict[str, Any]], fps: float) -> list[tuple[str, float, float, int]]:
    """Frame accuracy within ±0.5 s of ground-truth boundaries vs interior (U-fusion, 100 %)."""
    from skelloc.metrics.frame import boundary_accuracy

    radius = max(1, int(round(0.5 * fps)))
    rows = []
    for pre in ("none", "global", "snippet"):
        sel = [r for r in runs if _key(r) == (pre, "ufusion", 1.0)]
        if not sel:
            continue
        b, i = [], []
        for r in sel:
            z = np.load(Path(r["dir"]) / "frames.npz")
            vids = sorted({k.split("/")[0] for k in z.files})
            acc = boundary_accuracy([z[f"{v}/pred"] for v in vids], [z[f"{v}/gt"] for v in vids],
                                    radius=radius)
            b.append(acc["boundary"])
            i.append(acc["interior"])
        rows.append((pre, float(np.mean(b)), float(np.mean(i)), len(sel)))
    return rows


def straddle_fraction(data: Path, window: int, bins: int) -> dict[str, float]:
    """Fraction of snippets (window / bins frames, tiled) containing a label change."""
    from skelloc.train.data import SkeletonCache, frame_labels

    cache = SkeletonCache(data)
    length = window / bins
    total = straddle = 0
    for rec in cache.select("train"):
        labels = np.asarray(frame_labels(rec.segments, rec.num_frames, cache.num_classes))
        edges = np.floor(np.arange(0, rec.num_frames + length, length)).astype(int)
        for s, e in zip(edges[:-1], edges[1:]):
            e = min(e, rec.num_frames)
            if e - s < 1:
                continue
            total += 1
            straddle += int(np.any(labels[s:e] != labels[s]))
    return {"snippet_frames": length, "fps": cache.fps, "snippets": total,
            "fraction": straddle / max(total, 1)}


def head_costs(fps: float, num_classes: int = 51, seconds: float = 20.0) -> dict[str, Any]:
    """Parameters and FLOPs (2 x MACs, torch's FlopCounterMode) of each head for one clip."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from skelloc.train.config import load_config
    from skelloc.models.factory import create_model

    cfg = load_config("pkummd-stgcn16")
    t = int(seconds * fps)
    out = {}
    for head in ("simple", "ufusion", "tconv"):
        args = dict(cfg.model.head_args.get(head, {}))
        model = create_model(cfg.model.architecture, num_classes=num_classes, head=head,
                             head_args=args, **cfg.model.model_args).eval()
        x = torch.zeros(1, 3, t, 25, 2)
        with torch.no_grad():
            feats = model.encoder(x)
            counter = FlopCounterMode(display=False)
            with counter:
                model.head(feats, t)
        out[head] = {"params": sum(p.numel() for p in model.head.parameters()),
                     "flops": int(counter.get_total_flops()),
                     "encoder_params": sum(p.numel() for p in model.encoder.parameters())}
    out["clip"] = f"{seconds:g} s at {fps:g} fps, 2 persons"
    return out


def _fmt(values: list[float]) -> str:
    if not values:
        return "not run"
    arr = np.asarray(values, dtype=float) * 100
    sd = arr.std(ddof=1) if len(arr) > 1 else 0.0
    return f"{arr.mean():.1f} ± {sd:.1f}"


def write_report(out: Path, doc: Path | None, *, data: Path, budget: dict[str, Any]) -> str:
    runs = load_results(out)
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[_key(r)].append(r)
    fps = runs[0]["fps"] if runs else 15.0
    lines = ["## Main table: mAP (%) on the validation split, mean ± std over seeds", "",
             "| pretraining | head | labels | " + " | ".join(f"@{t}" for t in TIOUS)
             + " | avg | frame acc | seeds |", "|" + "---|" * 11]
    for f in (0.2, 1.0):
        for pre in ("none", "global", "snippet"):
            for head in ("simple", "ufusion", "tconv"):
                sel = groups.get((pre, head, f), [])
                cells = [_fmt([r["metrics"]["mAP"][str(t)] if str(t) in r["metrics"]["mAP"]
                               else r["metrics"]["mAP"][f"{t}"] for r in sel]) for t in TIOUS]
                lines.append(f"| {PRETRAIN_NAMES[pre]} | {head} | {int(f * 100)} % | "
                             + " | ".join(cells)
                             + f" | {_fmt([r['metrics']['average_mAP'] for r in sel])}"
                             + f" | {_fmt([r['metrics']['frame_accuracy'] for r in sel])}"
                             + f" | {len(sel)} |")
    if any(not groups.get((p, h, f)) for p in PRETRAIN_NAMES for h in ("simple", "ufusion",
                                                                     "tconv") for f in (0.2, 1.0)):
        lines += ["", "*not run*: the cell did not fit the compute budget of the session that "
                  "produced this file (a shared 2-core CPU); it was not estimated. Running the same "
                  "command again resumes and fills it."]
    rng = np.random.default_rng(0)
    comparisons = []
    for f in (0.2, 1.0):
        for head in ("ufusion", "simple", "tconv"):
            comparisons.append((f"snippet vs global, {head}, {int(f * 100)} %",
                                ("snippet", head, f), ("global", head, f)))
            comparisons.append((f"global vs none, {head}, {int(f * 100)} %",
                                ("global", head, f), ("none", head, f)))
        for pre in ("snippet", "none"):
            comparisons.append((f"ufusion vs simple, {pre}, {int(f * 100)} %",
                                (pre, "ufusion", f), (pre, "simple", f)))
            comparisons.append((f"ufusion vs tconv, {pre}, {int(f * 100)} %",
                                (pre, "ufusion", f), (pre, "tconv", f)))
    lines += ["", "## Paired differences of average mAP (points), bootstrap 95 % CI over "
              f"validation videos ({BOOTSTRAP} resamples, matched seeds)", "",
              "| comparison | difference | 95 % CI | seeds |", "|---|---|---|---|"]
    diff_rows = {}
    for name, a, b in comparisons:
        if not groups.get(a) or not groups.get(b):
            continue
        res = paired_bootstrap(groups[a], groups[b], rng)
        diff_rows[name] = res
        lines.append(f"| {name} | {res['diff'] * 100:+.1f} | [{res['lo'] * 100:+.1f}, "
                     f"{res['hi'] * 100:+.1f}] | {res['seeds']} |")
    costs = head_costs(fps)
    lines += ["", f"## Heads: parameters and FLOPs ({costs['clip']})", "",
              "| head | parameters | MFLOPs |", "|---|---|---|"]
    for head in ("simple", "ufusion", "tconv"):
        lines.append(f"| {head} | {costs[head]['params']:,} | {costs[head]['flops'] / 1e6:.1f} |")
    lines.append(f"\nEncoder (ST-GCN width 16): {costs['simple']['encoder_params']:,} parameters.")
    lines += ["", "## Boundary analysis (U-fusion head, 100 % labels)", "",
              "Frame accuracy within ±0.5 s of a ground-truth label change (±"
              f"{max(1, int(round(0.5 * fps)))} frames at {fps:g} fps, i.e. ±15 frames at 30 fps) "
              "versus all other frames, mean over seeds.", "",
              "| pretraining | boundary acc | interior acc | seeds |", "|---|---|---|---|"]
    for pre, b, i, n in boundary_table(runs, fps):
        lines.append(f"| {PRETRAIN_NAMES[pre]} | {b * 100:.1f} | {i * 100:.1f} | {n} |")
    strad = straddle_fraction(data, 150, 19)
    lines += ["", f"Snippets of {strad['snippet_frames']:.2f} frames at {strad['fps']:g} fps "
              f"(150-frame windows pooled to 19 bins) tiled over the training videos: "
              f"{strad['fraction'] * 100:.1f} % of {strad['snippets']:,} straddle a label change."]
    _plot(groups, out / "ablation_main.png")
    text = "\n".join(lines) + "\n"
    summary = {"diffs": diff_rows, "costs": costs, "straddle": strad, "budget": budget}
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(summary, indent=1, default=str))
    if doc is not None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        png = doc.parent / "ablation_main.png"
        png.write_bytes((out / "ablation_main.png").read_bytes())
        marker = "<!-- generated -->"
        head = doc.read_text().split(marker)[0] if doc.is_file() else "# Results\n\n"
        doc.write_text(head + marker + "\n\n" + text)
    return text


def _plot(groups: dict[tuple[str, str, float], list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, f in zip(axes, (0.2, 1.0)):
        for j, pre in enumerate(("none", "global", "snippet")):
            for k, head in enumerate(("simple", "ufusion", "tconv")):
                vals = [r["metrics"]["average_mAP"] * 100 for r in groups.get((pre, head, f), [])]
                x = k + (j - 1) * 0.25
                if vals:
                    ax.scatter([x] * len(vals), vals, color=f"C{j}", s=14, alpha=0.7)
                    ax.errorbar(x, np.mean(vals), yerr=np.std(vals, ddof=1) if len(vals) > 1
                                else 0, fmt="o", color=f"C{j}", capsize=3,
                                label=PRETRAIN_NAMES[pre] if k == 0 else None)
        ax.set_xticks(range(3), ["simple", "ufusion", "tconv"])
        ax.set_title(f"{int(f * 100)} % labelled training videos")
        ax.set_ylabel("avg mAP@0.1-0.5 (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/ablation"))
    p.add_argument("--doc", type=Path, default=None)
    p.add_argument("--data", type=Path, required=True)
    a = p.parse_args(argv)
    budget = json.loads((a.out / "ablation_args.json").read_text())
    print(write_report(a.out, a.doc, data=a.data, budget=budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
