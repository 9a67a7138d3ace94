"""Package the full-width 2s-AGCN models trained by ``experiments/gpu_session.py`` into the wheel.

The device session returns the two release candidates as fp16 safetensors
(``agcn-scratch-pkummd.fp16.safetensors``, ``agcn-snippet-pkummd.fp16.safetensors``) with their
validation average mAP in fp32 and fp16 (``session.json``). This script exports each with a
model card (:func:`skelloc.hub.export.export_model`), keeping the weights in fp16 (the loader
returns float32 models), copies them into ``skelloc/weights/`` and registers them in
``weights_manifest.json`` (``source: "package"``)::

    python tools/release_gpu_models.py --session DIR      # DIR: the session's $OUT
    python experiments/validate_models.py --write               # validation numbers, min_score

Neither becomes the default: the full-width encoder misses the 2-core CPU speed goals of
docs/PERFORMANCE.md (see docs/MODELS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/release_models.py

MODELS = {
    "agcn-scratch-pkummd": ("none", "trained from scratch"),
    "agcn-snippet-pkummd": ("snippet", "RVTCLR + snippet-contrastive pretraining, finetuned"),
}


def _job(session: dict[str, Any], pretrain: str) -> dict[str, Any]:
    return next(j for j in session["jobs"] if j["name"] == f"{pretrain}__ufusion__100__s0")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--session", type=Path, required=True, help="gpu_session.py --out folder")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "release-gpu-export")
    a = p.parse_args(argv)

    from release_models import CITATION, LICENSE, LIMITS, package

    from skelloc.hub.export import export_model
    from skelloc.models.localizer import Localizer

    session = json.loads((a.session / "session.json").read_text())
    gpu = session["machine"]
    for name, (pretrain, what) in MODELS.items():
        job = _job(session, pretrain)
        m32, m16 = job["metrics"]["average_mAP"], job["metrics_fp16"]["average_mAP"]
        model = Localizer.load(a.session / f"{name}.fp16.safetensors")
        stage1 = ("no pretraining (random initialisation)" if pretrain == "none" else
                  "RVTCLR + snippet pretraining (`skelloc train pretrain pkummd-agcn64`, "
                  "30 epochs of 15 steps, batch 64 × 150 frames, SGD lr 0.1, seed 0), then")
        recipe = (
            f"{stage1} `skelloc train finetune pkummd-agcn64` (2s-AGCN 64/128/256 channels, "
            "strides at blocks 2, 5, 8; U-fusion head 512; 30 epochs of 300-frame windows, "
            "batch 16, Adam 1e-3, ×0.1 at epoch 24, bf16 autocast, seed 0); the last epoch is "
            "exported (no selection on the validation split). Trained on one "
            f"{gpu['gpu']} (torch {gpu['torch']}) by `experiments/gpu_session.py` "
            f"({job['seconds']:.0f} s of finetuning, the GPU shared with 4 other runs).")
        card = {
            "training_data": "PKU-MMD phase 1, the 193 cross-subject training videos of "
                             "../shared/data/pkummd-v1: 163 for training, 30 (performances in "
                             "docs/splits/pkummd-v1-val-performances.txt) for validation; "
                             "skeletons resampled from 30 to 15 fps.",
            "recipe": recipe,
            "seeds": "pretraining 0, finetuning 0" if pretrain != "none" else "finetuning 0",
            "precision": (
                f"Weights stored in float16 (loaded as float32). Validation average mAP "
                f"(cache labels at 15 fps, `experiments/ablation.py`'s evaluation): "
                f"{100 * m32:.2f} with the float32 weights, {100 * m16:.2f} with the float16 "
                "ones."),
            "speed": ("Full width: on a 2-core CPU it localises about 2,600 input frames/s "
                      "(2 minutes of 30 fps input in 1.4 s, docs/PERFORMANCE.md), too slow for "
                      "the CPU default; on a GPU see docs/PERFORMANCE.md."),
            "limitations": LIMITS,
            "tags": ["pku-mmd", "kinect-v2", "2s-agcn", "full-width"]
                    + (["snippet-contrast"] if pretrain != "none" else []),
        }
        folder = export_model(
            model.half(), name, a.out / name, card_extra=card,
            description=f"2s-AGCN (full width, 64/128/256) + U-fusion head (512), {what} on "
                        "PKU-MMD (51 classes + background); fp16 weights",
            license=LICENSE, datasets=["pku-mmd"], citation=CITATION)
        package(folder, name, default=False)
        print(f"{name}: packaged ({100 * m32:.2f} / fp16 {100 * m16:.2f} average mAP)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
