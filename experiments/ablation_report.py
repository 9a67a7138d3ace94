"""Tables, paired bootstrap intervals, boundary analysis and the plot for ``ablation.py``.

``python experiments/ablation_report.py --out runs/ablation --doc docs/RESULTS.md --data CACHE``
rebuilds the report from the per-run ``result.json`` files alone.
"""

from __future__ import annotations

import argparse
import json
import logging
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


def _video_map(run: dict[str, Any], videos: Sequence[str]) -> float:
    """Average mAP (tIoU 0.1-0.5, ActivityNet) on a multiset of validation videos."""
    from skelloc.metrics.detection import detection_map
    from skelloc.metrics.records import Instance

    logging.getLogger("skelloc.metrics").setLevel(logging.ERROR)  # "no predictions" per resample
    preds, gts = [], []
    for k, vid in enumerate(videos):
        entry = run["videos"][vid]
        name = f"{vid}#{k}"
        preds += [Instance(name, c, s, e, sc) for c, s, e, sc in entry["detections"]]
        gts += [Instance(name, c, s, e) for c, s, e in entry["ground_truth"]]
    if not gts:
        return float("nan")
    return float(detection_map(preds, gts, TIOUS, protocol="anet").average_mAP)


def paired_bootstrap(arm_a: list[dict[str, Any]], arm_b: list[dict[str, Any]],
                     rng: np.random.Generator, n: int = BOOTSTRAP) -> dict[str, float]:
    """Mean over matched seeds of (A - B) average mAP, with a percentile 95 % CI over videos."""
    by_seed_a = {r["cell"]["seed"]: r for r in arm_a}
    by_seed_b = {r["cell"]["seed"]: r for r in arm_b}
    seeds = sorted(set(by_seed_a) & set(by_seed_b))
    if not seeds:
        return {"diff": math.nan, "lo": math.nan, "hi": math.nan, "seeds": 0}
    videos = sorted(by_seed_a[seeds[0]]["videos"])
    point = float(np.mean([by_seed_a[s]["metrics"]["average_mAP"]
                           - by_seed_b[s]["metrics"]["average_mAP"] for s in seeds]))
    diffs = []
    for _ in range(n):
        sample = [videos[i] for i in rng.integers(0, len(videos), len(videos))]
        diffs.append(np.mean([_video_map(by_seed_a[s], sample) - _video_map(by_seed_b[s], sample)
                              for s in seeds]))
    lo, hi = np.nanpercentile(diffs, [2.5, 97.5])
    return {"diff": point, "lo": float(lo), "hi": float(hi), "seeds": len(seeds)}


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
                             head_args=args, **cfg.model.backbone_args).eval()
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
