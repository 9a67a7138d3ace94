"""Package the two issue-17 models (called by ``experiments/domain_models.py release``).

Evaluates each on its validation split (``skelloc train evaluate``: ActivityNet protocol,
tIoU 0.1-0.5, proposal decoder), writes its model card and manifest entry with
:func:`skelloc.hub.export.export_model`, and copies it into the wheel with
``release_models.package`` (sha256 and sizes computed by the tooling, never by hand).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from release_models import CITATION, REPO, package

BABEL_LICENSE = {
    "id": "other",
    "name": "BABEL non-commercial research licence (inherited)",
    "url": "https://babel.is.tue.mpg.de/license.html",
    "notes": "Finetuned on BABEL labels (Punnakkal et al., CVPR 2021; MPI for Intelligent "
             "Systems), non-commercial scientific research only, in the BABEL-TAL/BT20 form of the "
             "LocATe benchmark (MIT), on CMU Graphics Lab motion capture; pretrained on PKU-MMD "
             "(academic research only) and UTKinect-Action3D (research use). These weights "
             "inherit the most restrictive of those terms: research-only, non-commercial. "
             "The skelloc code itself is Apache-2.0.",
}
UTK_LICENSE = {
    "id": "other",
    "name": "UTKinect-Action3D / PKU-MMD research-only terms (inherited)",
    "url": "https://cvrc.ece.utexas.edu/KinectDatasets/HOJ3D.html",
    "notes": "Finetuned on UTKinect-Action3D (Xia, Chen, Aggarwal, CVPR workshops 2012; "
             "research use) from an encoder pretrained on PKU-MMD (academic research only); the "
             "weights inherit those research-only terms. The skelloc code itself is Apache-2.0.",
}
CITE_BABEL = ("@inproceedings{punnakkal2021babel, title={BABEL: Bodies, Action and Behavior "
              "with English Labels}, author={Punnakkal, Abhinanda R. and Chandrasekaran, Arjun "
              "and Athanasiou, Nikos and Quiros-Ramirez, Alejandra and Black, Michael J.}, "
              "booktitle={CVPR}, year={2021}}")
CITE_UTK = ("@inproceedings{xia2012view, title={View invariant human action recognition using "
            "histograms of 3D joints}, author={Xia, Lu and Chen, Chia-Chih and Aggarwal, J. K.},"
            " booktitle={CVPR Workshops}, year={2012}}")


ENCODERS = {
    "pkummd-snippet": "the PKU-MMD snippet-contrastive encoder",
    "pkummd-scratch": "the encoder of the PKU-MMD model trained from scratch (supervised)",
    "union-snippet": "the snippet encoder pretrained further on all unlabelled data",
}


def _metrics(res: dict[str, Any], split: str) -> dict[str, Any]:
    out: dict[str, Any] = {f"mAP@{t}": round(float(v), 4) for t, v in res["mAP"].items()}
    out["average_mAP"] = round(float(res["average_mAP"]), 4)
    out["frame_accuracy"] = round(float(res["frame_accuracy"]), 4)
    out["split"] = split
    out["protocol"] = "anet"
    return out


def _counts_text(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for split in ("train", "val"):
        c = counts.get(split, {})
        parts.append(f"{split} ({sum(c.values())} instances): "
                     + ", ".join(f"{k} {v}" for k, v in c.items()))
    return "; ".join(parts)


def _per_class(res: dict[str, Any]) -> str:
    return ", ".join(f"{k} {100 * float(v.get('0.5', 0.0)):.1f}"
                     for k, v in sorted(res["per_class_ap"].items()))


def release(state: dict[str, Any], caches: dict[str, Path],
            class_counts: Callable[[Path], dict[str, dict[str, int]]]) -> None:
    from skelloc.hub.export import export_model
    from skelloc.models.localizer import Localizer
    from skelloc.train.evaluate import evaluate_model

    out = REPO / "runs" / "release-domains"
    steps, pre_steps = state["finetune_steps"], state.get("pretrain_steps")
    common_recipe = (
        f"ST-GCN width 16 + U-fusion head (the `pkummd-stgcn16` recipe's model), one person, "
        f"15 fps; finetuned {steps} Adam steps (lr 1e-3, batch 8, 10 s windows, seed 0); "
        f"exported checkpoint: the last step (no selection on the validation split). "
        f"Command: `OMP_NUM_THREADS=1 python experiments/domain_models.py all` "
        f"(after `python experiments/transfer.py`), configs in runs/domains/*/config.json.")
    cmd = "skelloc train evaluate {name} runs/transfer/caches/{cache} --split val"

    # ------------------------------------------------------------------ BABEL-TAL
    babel = Localizer.load(state["babel_weights"])
    res = evaluate_model(babel, caches["babel-tal"], split="val")
    counts = class_counts(caches["babel-tal"])
    card = {
        "training_data": (
            "BABEL-TAL BT20 ground truth on 29 CMU motion-capture sequences "
            "(../shared/data/babel-cmu-v1, `skelloc prepare babel-tal`; BVH retargeted to a "
            "Character Creator rig, mapped to ntu25, 60 -> 30 fps, times = value / 99 x frames, "
            "overlapping labels kept). Validation: CMU subject 06 (7 sequences); training: "
            "subjects 01, 02, 05, 07 (22 sequences). Instances per class: "
            + _counts_text(counts) + ". Only these classes were ever seen; the other BT20 "
            "classes (hit/punch, catch, sit, kneel, place something, pick up...) have no "
            "training instance and cannot be expected to be detected."),
        "recipe": (
            f"Encoder: the bundled PKU-MMD snippet-contrastive encoder, pretrained further "
            f"({pre_steps} SGD steps, batch 16, RVTCLR + snippet branch, lr 0.01) on every "
            f"unlabelled sequence in ../shared converted to ntu25 (193 PKU-MMD videos, 16 "
            f"UTKinect sequences, 29 CMU motions). Then multi-label finetuning "
            f"(`model.output = \"sigmoid\"`: per-class binary cross-entropy; overlapping "
            f"actions are all predicted). " + common_recipe),
        "seeds": "pretraining 0, finetuning 0",
        "validation_details": (
            f"Validation split (CMU subject 06, 7 sequences), ActivityNet protocol, proposal "
            f"decoder with the multi-label thresholds 0.1-0.5: average mAP@0.1-0.5 "
            f"{100 * res['average_mAP']:.1f}; "
            + ", ".join(f"mAP@{t} {100 * float(v):.1f}" for t, v in res["mAP"].items())
            + f"; frame accuracy {100 * res['frame_accuracy']:.1f} %. Per-class AP@0.5: "
            + _per_class(res) + ". Reproduce: `" + cmd.format(name="stgcn16-snippet-babel",
                                                             cache="babel-tal") + "`."),
        "limitations": (
            "Tiny data: 29 sequences, 74 instances, 14 of the 20 BT20 classes present, most "
            "sequences hold one action; validation is one CMU subject. The BT20 test sequences "
            "were not used. Optical mocap retargeted to a game rig, not Kinect: other sensors "
            "and pose estimators are outside what it saw. BABEL joint data (AMASS/SMPL-H) was "
            "not used. Research-only, non-commercial (BABEL terms)."),
        "tags": ["babel", "bt20", "cmu-mocap", "multi-label", "snippet-contrast"],
    }
    folder = export_model(
        babel, "stgcn16-snippet-babel", out / "stgcn16-snippet-babel",
        metrics=_metrics(res, "val (CMU subject 06, 7 sequences)"), card_extra=card,
        description="ST-GCN (width 16) + U-fusion head, snippet-contrastive pretraining, "
                    "multi-label finetuning on BABEL-TAL BT20 (20 classes + background; 29 CMU "
                    "sequences)",
        license=BABEL_LICENSE, datasets=["babel", "cmu-mocap", "pku-mmd", "utkinect-action3d"],
        citation=CITATION + "\n" + CITE_BABEL, aliases=["stgcn-snippet-babel"])
    package(folder, "stgcn16-snippet-babel", False)
    state["babel_metrics"] = _metrics(res, "val")
    state["babel_per_class_ap"] = res["per_class_ap"]

    # ------------------------------------------------------------------ UTKinect
    # named after the encoder it really starts from; the promised name is an alias
    kind = "snippet" if state["utk_encoder"].endswith("snippet") else "scratch"
    name = f"stgcn16-{kind}-utkinect"
    aliases = ["stgcn-snippet-utkinect"] + (["stgcn16-snippet-utkinect"] if kind != "snippet"
                                            else [])
    utk = Localizer.load(state["utk_weights"])
    res = evaluate_model(utk, caches["utkinect"], split="val")
    counts = class_counts(caches["utkinect"])
    sel = state["utk_selection"]
    card = {
        "training_data": (
            "UTKinect-Action3D subjects 1-5 (10 untrimmed Kinect v1 sequences, "
            "../shared/data/utkinect-v1, `skelloc prepare utkinect`: 30 fps frame-id "
            "timeline, kinect_v1_20 -> ntu25, corrected label file actionLabel_modified.txt); "
            "validation: subjects 6-8 (6 sequences). Instances per class: "
            + _counts_text(counts) + ". Of the 16 sequences available, 10 train."),
        "recipe": (
            f"Encoder chosen by validation: {state['utk_encoder']} (mean validation average mAP "
            f"over seeds 0-2 in the transfer protocol of experiments/transfer.py at 100 % of "
            f"the training subjects: "
            + ", ".join(f"{k} {100 * v:.1f}" for k, v in sel.items()) + "). "
            + ("The snippet-contrastive encoders scored lower on this split, so this model is "
               "NOT snippet-pretrained; `stgcn-snippet-utkinect`, the name users were promised, "
               "is an alias of it. " if kind != "snippet" else "")
            + common_recipe),
        "seeds": "finetuning 0",
        "validation_details": (
            f"Validation split (subjects 6-8, 6 sequences), ActivityNet protocol, proposal "
            f"decoder: average mAP@0.1-0.5 {100 * res['average_mAP']:.1f}; "
            + ", ".join(f"mAP@{t} {100 * float(v):.1f}" for t, v in res["mAP"].items())
            + f"; frame accuracy {100 * res['frame_accuracy']:.1f} %. Per-class AP@0.5: "
            + _per_class(res) + ". The encoder was chosen on this same split, so the number is "
            "slightly optimistic. Reproduce: `"
            + cmd.format(name=name, cache="utkinect") + "`."),
        "limitations": (
            "Ten daily actions of one room and one Kinect v1, 10 training sequences from 5 "
            "people, each action once per sequence in a fixed order (the model may have learnt "
            "the order). Subjects 9-10 were not used (kept for an independent check). "
            "Research-only terms."),
        "tags": ["utkinect", "kinect-v1", "daily-actions"],
    }
    folder = export_model(
        utk, name, out / name,
        metrics=_metrics(res, "val (UTKinect subjects 6-8, 6 sequences)"), card_extra=card,
        description="ST-GCN (width 16) + U-fusion head, initialised from " + ENCODERS[
            state["utk_encoder"]] + ", finetuned on UTKinect-Action3D daily actions (10 "
            "classes + background)",
        license=UTK_LICENSE, datasets=["utkinect-action3d", "pku-mmd"],
        citation=CITATION + "\n" + CITE_UTK, aliases=aliases)
    package(folder, name, False)
    state["utk_name"] = name
    state["utk_metrics"] = _metrics(res, "val")
    state["utk_per_class_ap"] = res["per_class_ap"]
    (REPO / "runs" / "domains" / "release.json").write_text(json.dumps(state, indent=1))
