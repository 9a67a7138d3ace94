"""Package trained PKU-MMD models into the wheel and the packaged manifest.

Run after the two training commands of ``docs/MODELS.md``::

    python tools/release_models.py --pretrain runs/release/pre --finetune runs/release/ft \\
        --data caches/pkummd15 --default

It evaluates the finetuned model on the validation split (ActivityNet mAP at tIoU 0.1-0.5,
per-class AP, frame accuracy), exports both models with model cards
(:func:`skelloc.hub.export.export_model`), copies the safetensors files into
``skelloc/weights/`` and writes their entries (``source: "package"``, sha256, size) into
``weights_manifest.json``; the model cards go to ``docs/model_cards/``. Release tooling of the
repository, not of the installed package: :func:`package` is tested in
``tests/test_release_tool.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from skelloc._atomic import atomic_copy, atomic_write_text

REPO = Path(__file__).resolve().parents[1]
FULL = "stgcn16-snippet-pkummd"
INTERACTIONS = ("giving something to other person", "handshaking", "hugging other person",
                "kicking other person", "pat on back of other person",
                "point finger at the other person", "punching/slapping other person",
                "pushing other person")
LICENSE = {
    "id": "other",
    "name": "PKU-MMD research-only terms (inherited)",
    "url": "https://www.icst.pku.edu.cn/struct/Projects/PKUMMD.html",
    "notes": "Trained on PKU-MMD (Liu et al. 2017), distributed for academic research use only; "
             "these weights inherit those terms. The skelloc code itself is Apache-2.0.",
}
CITATION = (
    "@article{cheng2025snipclr, title={Skeleton-Snippet Contrastive Learning with Multiscale "
    "Feature Fusion for Action Localization}, author={Cheng, Qiushuo and Liu, Jingjing and "
    "Morgan, Catherine and Whone, Alan and Mirmehdi, Majid}, journal={arXiv:2512.16504}, "
    "year={2025}}\n@inproceedings{liu2017pkummd, title={PKU-MMD: A Large Scale Benchmark for "
    "Continuous Multi-Modal Human Action Understanding}, author={Liu, Chunhui and Hu, Yueyu and "
    "Li, Yanghao and Song, Sijie and Liu, Jiaying}, booktitle={ACM MM Workshops}, year={2017}}")
LIMITS = (
    "Trained on 163 PKU-MMD phase-1 cross-subject training videos (one lab, Kinect v2 at three "
    "fixed viewpoints, 25 NTU joints, two persons) and validated on 30 held-out videos of 10 other "
    "performances. Only 24 of the 51 classes occur in this data; the eight two-person interaction "
    "classes carry almost all instances, 16 classes have 3 training instances each (all from one "
    "performance, so none is in the validation split) and 27 classes have none: the model cannot "
    "be expected to detect them. Other cameras, joint layouts converted from 2D/3D pose "
    "estimators, single-person recordings and clinical movement data are outside what it was "
    "trained and validated on. The official cross-subject test videos were not used; the "
    "validation numbers come from the split named above.")


LIMITS_2D = (
    "Trained on 2D keypoints made from 163 PKU-MMD phase-1 cross-subject training videos: the "
    "Kinect v2 joints projected into the 512 x 424 depth camera, coco13 layout (COCO-17 body + "
    "one head point), with augmentations that imitate pose estimators (jitter, dropped joints, "
    "left/right swaps, scale drift, camera view, mirror, scores). It has never seen the output "
    "of a real pose estimator: estimator keypoints differ from projected Kinect joints (hips "
    "lower and wider, the head point from the face), and real videos bring occlusion, "
    "truncation at the frame edge and identity switches that the augmentations only imitate. "
    "Validated on 30 held-out videos of 10 other performances, on projected keypoints. Only the "
    "eight two-person interaction classes have enough data; 16 classes have 3 training "
    "instances each and 27 none. Two persons at most; single-person recordings and clinical "
    "movement data are outside what it was trained and validated on.")


def evaluate(model: Any, data: Path) -> dict[str, Any]:
    from skelloc.train.evaluate import evaluate_model

    return evaluate_model(model, data, split="val")


def _metrics(res: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f"mAP@{t}": round(float(v), 4) for t, v in res["mAP"].items()}
    out["average_mAP"] = round(float(res["average_mAP"]), 4)
    out["frame_accuracy"] = round(float(res["frame_accuracy"]), 4)
    out["split"] = "val (docs/splits/pkummd-v1-val-performances.txt, 30 videos)"
    out["protocol"] = "anet"
    return out


def _per_class_table(res: dict[str, Any]) -> str:
    rows = ["| class | " + " | ".join(f"AP@{t}" for t in res["mAP"]) + " |",
            "|---|" + "---|" * len(res["mAP"])]
    for name in INTERACTIONS:
        ap = res["per_class_ap"].get(name)
        if ap is None:
            continue
        rows.append(f"| {name} | " + " | ".join(f"{100 * float(ap[t]):.1f}" for t in res["mAP"])
                    + " |")
    return "\n".join(rows)


def package(folder: Path, name: str, default: bool, default_2d: bool = False,
            repo: Path = REPO) -> dict[str, Any]:
    """Copy an exported folder's weights into ``<repo>/skelloc/weights`` and register the entry
    (``source: "package"``) in ``<repo>/weights_manifest.json`` (as the default, or the default
    2D model); the card goes to ``<repo>/docs/model_cards/NAME.md``. Every write is atomic."""
    entry = json.loads((folder / "weights_manifest.json").read_text())["models"][name]
    target = repo / "skelloc" / "weights"
    target.mkdir(exist_ok=True)
    for role, f in entry["files"].items():
        filename = f"{name}.{role}.safetensors"
        atomic_copy(folder / f["filename"], target / filename)
        f["filename"] = filename
        f["source"] = "package"
    manifest_path = repo / "weights_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["models"][name] = entry
    if default:
        manifest["default"] = name
    if default_2d:
        manifest["default_2d"] = name
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    cards = repo / "docs" / "model_cards"
    cards.mkdir(parents=True, exist_ok=True)
    atomic_copy(folder / "README.md", cards / f"{name}.md")
    return entry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pretrain", type=Path, default=None,
                   help="pretraining run (omit for a model trained from scratch)")
    p.add_argument("--finetune", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--checkpoint", default="last.safetensors")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "release-export")
    p.add_argument("--default", action="store_true", help="make it the bundled default")
    p.add_argument("--default-2d", action="store_true",
                   help="make it the bundled default for 2D keypoint input")
    p.add_argument("--name", default=FULL, help="model name (with --pretrain also NAME-encoder)")
    a = p.parse_args(argv)
    if a.pretrain is None and a.name == FULL:
        p.error(f"{FULL} is the snippet-pretrained model: pass --pretrain")

    from skelloc.hub.export import export_model
    from skelloc.models.localizer import Localizer

    ft_cfg = json.loads((a.finetune / "config.json").read_text())
    model = Localizer.load(a.finetune / a.checkpoint)
    res = evaluate(model, a.data)
    history = json.loads((a.finetune / "metrics.json").read_text())
    best = history.get("best") or {}
    if a.pretrain is not None:
        pre_cfg = json.loads((a.pretrain / "config.json").read_text())
        pre = pre_cfg["pretrain"]
        stage1 = (f"`skelloc train pretrain pkummd-stgcn16` ({pre['method']} + snippet branch, "
                  f"weight {pre['snippet_weight']}, {pre['epochs']} epochs, seed {pre_cfg['seed']}),"
                  f" then `skelloc train finetune pkummd-stgcn16 --init .../pretrain.safetensors`")
        seeds = f"pretraining {pre_cfg['seed']}, finetuning {ft_cfg['seed']}"
        what = "snippet-contrastive pretraining, finetuned"
    else:
        stage1 = "no pretraining (random initialisation): `skelloc train finetune pkummd-stgcn16`"
        seeds = f"finetuning {ft_cfg['seed']}"
        what = "trained from scratch"
    recipe = (f"{stage1} (U-fusion head, {ft_cfg['finetune']['epochs']} epochs, seed "
              f"{ft_cfg['seed']}); exported checkpoint: `{a.checkpoint}` (no selection on the "
              f"validation split). Full configs: `config.json` in the run folders; commands in "
              f"docs/MODELS.md.")
    evaluation = (
        f"Validation split (30 videos), ActivityNet protocol, proposal decoder: "
        f"average mAP@0.1-0.5 {100 * res['average_mAP']:.1f}, "
        + ", ".join(f"mAP@{t} {100 * float(v):.1f}" for t, v in res["mAP"].items())
        + f"; frame accuracy {100 * res['frame_accuracy']:.1f} %. "
        + (f"For comparison only, the best epoch selected on this same split scored "
           f"{100 * float(best['average_mAP']):.1f} average mAP (optimistic). "
           if best.get("average_mAP") is not None else "")
        + "Reproduce: `skelloc train evaluate <weights> CACHE --split val`.\n\n"
        + "Per-class AP (%) of the eight interaction classes:\n\n" + _per_class_table(res))
    two_d = model.input_spec.normalization == "person2d"
    data_text = ("PKU-MMD phase 1, the 193 cross-subject training videos of "
                 "../shared/data/pkummd-v1: 163 for training, 30 (performances in "
                 "docs/splits/pkummd-v1-val-performances.txt) for validation; "
                 "skeletons resampled from 30 to 15 fps (`localize` resamples any input).")
    if two_d:
        data_text += (" As 2D keypoints: `skelloc prepare pkummd ... --2d` (the joints "
                      "projected into the Kinect v2 depth camera, coco13 layout, score 1 for "
                      "tracked joints; docs/skeleton.md).")
        recipe = recipe.replace("pkummd-stgcn16`", "pkummd-stgcn16-2d`")
    card = {
        "training_data": data_text,
        "recipe": recipe,
        "seeds": seeds,
        "validation_details": evaluation,
        "limitations": LIMITS_2D if two_d else LIMITS,
        "tags": ["pku-mmd", "kinect-v2"] + (["snippet-contrast"] if a.pretrain else [])
                + (["2d-keypoints", "coco13"] if two_d else []),
    }
    common = dict(license=LICENSE, datasets=["pku-mmd"], citation=CITATION)
    kind = (" from 2D keypoints (coco13 + scores, any image size; MMPose, OpenPose, "
            "MediaPipe)" if two_d else "")
    full_dir = export_model(
        model, a.name, a.out / a.name, metrics=_metrics(res), card_extra=card,
        description=f"ST-GCN (width 16) + U-fusion head, {what} on PKU-MMD "
                    f"(51 classes + background){kind}", **common)
    package(full_dir, a.name, a.default, a.default_2d)

    if a.pretrain is not None:
        enc_name = f"{a.name}-encoder"
        encoder = Localizer.load(a.pretrain / "encoder")
        enc_card = dict(card)
        enc_card["validation_details"] = (
            "Encoder only (no head): per-frame features for other localisation frameworks "
            f"(`skelloc extract --model {enc_name} --level encoder`). The finetuned model "
            "built on it scores: " + evaluation)
        enc_dir = export_model(
            encoder, enc_name, a.out / enc_name, card_extra=enc_card,
            description="ST-GCN (width 16) encoder from snippet-contrastive pretraining on "
                        "PKU-MMD (no labels used); features only", **common)
        package(enc_dir, enc_name, False)
    print(json.dumps({"metrics": _metrics(res), "per_class_ap": res["per_class_ap"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
