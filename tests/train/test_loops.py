"""The training loops on the tiny recipe: end to end, resume, protocols, masks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from skelloc._atomic import _host
from skelloc.errors import ConfigError, IncompatibleWeightsError
from skelloc.models.localizer import Localizer
from skelloc.train import load_config, run_finetune, run_pretrain
from skelloc.train.common import build_model, init_encoder
from skelloc.train.data import (
    IGNORE_INDEX,
    SkeletonCache,
    collate_whole,
    labelled_subset,
    prepare_videos,
    split_train_val,
)
from skelloc.train.finetune import masked_frame_loss

from .cachegen import make_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cache(tmp_path_factory.mktemp("cache"),
                      splits=["train", "train", "train", "train", "val", "val"])


@pytest.fixture(scope="module")
def pretrained(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pre")
    run_pretrain(load_config("tiny", [f"data.path={json.dumps(str(cache_dir))}"]), out)
    return out


def _cfg(cache_dir: Path, *sets: str):  # noqa: ANN202
    return load_config("tiny", [f"data.path={json.dumps(str(cache_dir))}", *sets])


def test_pretrain_outputs(pretrained: Path) -> None:
    state = load_file(str(pretrained / "pretrain.safetensors"))
    assert any(k.startswith("encoder_q.") for k in state)
    assert any(k.startswith("encoder_k.") for k in state)
    # 4 training windows, batch 4, 2 epochs: 2 steps of 4 keys into 64-slot queues
    assert int(state["snippet_queue.ptr"]) == 8
    assert int(state["queues.fc1.ptr"]) == 8 and int(state["queues.fc2.ptr"]) == 8
    enc = Localizer.load(pretrained / "encoder")
    assert enc.head is None and enc.input_spec.fps == 15.0
    for k, v in enc.encoder.state_dict().items():
        assert torch.equal(v, state[f"encoder_q.{k}"])
    lines = [json.loads(x) for x in (pretrained / "log.jsonl").read_text().splitlines()]
    steps = [r for r in lines if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    assert {"global", "tempo_nce", "tempo_rank", "ddm", "snippet"} <= set(steps[0])
    assert all(r["lr"] <= 0.05 + 1e-12 for r in steps)  # warm-up never above the base lr


def test_finetune_end_to_end(cache_dir: Path, pretrained: Path, tmp_path: Path) -> None:
    result = run_finetune(_cfg(cache_dir), tmp_path, init=pretrained / "pretrain.safetensors")
    for name in ("best.safetensors", "last.safetensors", "metrics.json", "checkpoint.pt"):
        assert (tmp_path / name).is_file()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result))
    assert len(metrics["history"]) == 2  # two epochs, evaluated after each
    last = metrics["last"]
    assert set(last["mAP"]) == {"0.1", "0.2", "0.3", "0.4", "0.5"}
    assert last["average_mAP"] == pytest.approx(sum(last["mAP"].values()) / 5)
    assert 0.0 <= last["frame_accuracy"] <= 1.0 and last["num_videos"] == 2
    assert set(last["per_class_ap"]) <= {"action0", "action1"}
    best = metrics["best"]
    assert best["average_mAP"] == max(h["average_mAP"] for h in metrics["history"])
    model = Localizer.load(tmp_path / "best.safetensors")
    assert model.labels == ["action0", "action1"] and model.input_spec.fps == 15.0


def test_init_takes_only_the_query_encoder(cache_dir: Path, pretrained: Path) -> None:
    cfg = _cfg(cache_dir)
    model = build_model(cfg, SkeletonCache(cache_dir))
    init_encoder(model, pretrained / "pretrain.safetensors")
    state = load_file(str(pretrained / "pretrain.safetensors"))
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(v, state[f"encoder_q.{k}"])
    wide = build_model(_cfg(cache_dir, "model.model_args.base_channels=8"),
                       SkeletonCache(cache_dir))
    with pytest.raises(IncompatibleWeightsError, match="shape mismatch"):
        init_encoder(wide, pretrained / "pretrain.safetensors")


def test_continued_pretraining_starts_from_the_init(cache_dir: Path, pretrained: Path,
                                                    tmp_path: Path) -> None:
    # learning rate 0: the weights (not the BatchNorm statistics) stay those of the init
    cfg = _cfg(cache_dir, "max_steps=1", "pretrain.lr=0.0")
    out = run_pretrain(cfg, tmp_path, init=pretrained / "pretrain.safetensors")
    before, after = load_file(str(pretrained / "pretrain.safetensors")), load_file(str(out))
    params = {k for k, _ in Localizer.load(pretrained / "encoder").encoder.named_parameters()}
    for k in params:
        assert torch.equal(after[f"encoder_q.{k}"], before[f"encoder_q.{k}"])
        torch.testing.assert_close(after[f"encoder_k.{k}"], before[f"encoder_q.{k}"])  # momentum
    fresh = run_pretrain(cfg, tmp_path / "fresh")
    assert not all(torch.equal(load_file(str(fresh))[f"encoder_q.{k}"], before[f"encoder_q.{k}"])
                   for k in params)


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def test_pretrain_resume_is_exact(cache_dir: Path, tmp_path: Path) -> None:
    sets = ["pretrain.epochs=3", "data.window=16", "checkpoint_every=1"]
    run_pretrain(_cfg(cache_dir, *sets), tmp_path / "full")
    run_pretrain(_cfg(cache_dir, *sets, "max_steps=2"), tmp_path / "cut")
    # what a SIGKILL during a write leaves (a pid that cannot run), and a line past the checkpoint
    stale = tmp_path / "cut" / f".checkpoint.pt.{_host()}-99999999.abcd1234.tmp"
    stale.write_bytes(b"partial")
    with (tmp_path / "cut" / "log.jsonl").open("a") as fh:
        fh.write(json.dumps({"step": 3, "loss": 1.0}) + "\n" + '{"step": 4, "lo')
    run_pretrain(_cfg(cache_dir, *sets), tmp_path / "cut", resume=True)
    assert not stale.exists()
    a = _tensors(tmp_path / "full" / "pretrain.safetensors")
    b = _tensors(tmp_path / "cut" / "pretrain.safetensors")
    assert a.keys() == b.keys()
    for k in a:  # weights, key encoder, BN statistics and queues
        assert torch.equal(a[k], b[k]), k
    # the same bytes (canonical safetensors header), and each step logged once
    digest = [hashlib.sha256((tmp_path / run / "pretrain.safetensors").read_bytes()).hexdigest()
              for run in ("full", "cut")]
    assert digest[0] == digest[1]
    logs = [[{k: v for k, v in json.loads(x).items() if k not in ("time", "seconds")}
             for x in (tmp_path / run / "log.jsonl").read_text().splitlines()]
            for run in ("full", "cut")]
    assert logs[0] == logs[1]
    c = _tensors(tmp_path / "cut" / "pretrain.safetensors")
    run_pretrain(_cfg(cache_dir, *sets, "seed=5"), tmp_path / "other")
    d = _tensors(tmp_path / "other" / "pretrain.safetensors")
    assert not torch.equal(c["encoder_q.st_gcn_networks.0.gcn.conv.weight"],
                           d["encoder_q.st_gcn_networks.0.gcn.conv.weight"])


def test_finetune_resume_is_exact(cache_dir: Path, tmp_path: Path) -> None:
    sets = ["finetune.epochs=3", "model.model_args.dropout=0.3"]
    run_finetune(_cfg(cache_dir, *sets), tmp_path / "full")
    run_finetune(_cfg(cache_dir, *sets, "max_steps=3"), tmp_path / "cut")
    run_finetune(_cfg(cache_dir, *sets), tmp_path / "cut", resume=True)
    a = _tensors(tmp_path / "full" / "last.safetensors")
    b = _tensors(tmp_path / "cut" / "last.safetensors")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    cut = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert full["last"]["average_mAP"] == cut["last"]["average_mAP"]


def test_linear_protocol_freezes_the_encoder(cache_dir: Path, pretrained: Path,
                                              tmp_path: Path) -> None:
    run_finetune(_cfg(cache_dir, "finetune.protocol=linear"), tmp_path,
                 init=pretrained / "encoder")
    state = load_file(str(pretrained / "pretrain.safetensors"))
    last = _tensors(tmp_path / "last.safetensors")
    enc = {k[len("encoder."):]: v for k, v in last.items() if k.startswith("encoder.")}
    assert enc
    for k, v in enc.items():  # weights and BatchNorm statistics untouched
        assert torch.equal(v, state[f"encoder_q.{k}"]), k
    init_head = build_model(_cfg(cache_dir), SkeletonCache(cache_dir)).head.state_dict()
    changed = [k for k, v in init_head.items() if not torch.equal(v, last[f"head.{k}"])]
    assert changed  # the head did train


@pytest.mark.parametrize("method", ["skeletonclr", "aimclr"])
@pytest.mark.parametrize("snippet", [True, False])
def test_other_base_methods_and_the_snippet_switch(cache_dir: Path, tmp_path: Path,
                                                     method: str, snippet: bool) -> None:
    cfg = _cfg(cache_dir, f"pretrain.method={method}", f"pretrain.snippet={str(snippet).lower()}",
               "max_steps=1", "pretrain.intra_negatives=true", "pretrain.mining_epoch=0")
    run_pretrain(cfg, tmp_path)
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    expected = {"global"} | ({"ddm"} if method == "aimclr" else set())
    expected |= {"snippet"} if snippet else set()
    assert expected <= set(record) and "tempo_rank" not in record
    assert ("snippet" in record) == snippet
    total = record["global"] + record.get("ddm", 0.0) + 1.5 * record.get("snippet", 0.0)
    assert record["loss"] == pytest.approx(total, abs=1e-4)
    state = load_file(str(tmp_path / "pretrain.safetensors"))
    assert any(k.startswith("dense_q.") for k in state) == snippet


def test_snippet_only(cache_dir: Path, tmp_path: Path) -> None:
    run_pretrain(_cfg(cache_dir, "pretrain.global_loss=false", "max_steps=1"), tmp_path)
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    assert "global" not in record and record["loss"] == pytest.approx(1.5 * record["snippet"],
                                                                      abs=1e-4)


def test_masked_loss_ignores_padded_frames() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 6, requires_grad=True)
    labels = torch.tensor([[0, 1, 2, 2, IGNORE_INDEX, IGNORE_INDEX], [1] * 6])
    loss = masked_frame_loss(logits, labels)
    valid = [(0, t) for t in range(4)] + [(1, t) for t in range(6)]
    manual = torch.stack([F.cross_entropy(logits[n, :, t][None], labels[n, t][None])
                          for n, t in valid]).mean()
    assert torch.allclose(loss, manual)
    loss.backward()
    assert logits.grad is not None and torch.all(logits.grad[0, :, 4:] == 0)
    assert torch.any(logits.grad[0, :, :4] != 0)
    changed = logits.detach().clone()
    changed[0, :, 4:] = 100.0
    assert torch.allclose(masked_frame_loss(changed, labels), manual)
    empty = masked_frame_loss(logits, torch.full((2, 6), IGNORE_INDEX))
    assert float(empty.detach()) == 0.0


def test_collate_pads_with_the_ignore_index(cache_dir: Path) -> None:
    cache = SkeletonCache(cache_dir)
    cfg = _cfg(cache_dir)
    spec = build_model(cfg, cache).input_spec
    videos = prepare_videos(cache, cache.videos[:3], spec)
    x, y = collate_whole(videos, [0, 1, 2])
    assert y is not None
    for n, v in enumerate(videos):
        t = v.num_frames
        assert torch.equal(y[n, :t], v.labels) and torch.all(y[n, t:] == IGNORE_INDEX)
        assert torch.all(x[n, :, t:] == 0) and torch.equal(x[n, :, :t], v.joints)
    # labels at 15 fps come from the 30 fps segments: frame j is source frame 2j
    rec = cache.videos[0]
    label, start, end = rec.segments[0]
    assert int(videos[0].labels[(start + 1) // 2]) == label
    assert int(videos[0].labels[0]) == cache.num_classes  # background before the first action


def test_splits_and_label_subsets(tmp_path: Path) -> None:
    cache = SkeletonCache(make_cache(tmp_path / "c", num_videos=12, splits=[None] * 12))
    train, val = split_train_val(cache, val_fraction=0.34, seed=3)
    assert len(val) == 4 and len(train) == 8  # 2 of 6 performances, both views each
    assert not {v.performance for v in train} & {v.performance for v in val}
    assert split_train_val(cache, val_fraction=0.34, seed=3)[1] == val
    assert split_train_val(cache, val_fraction=0.34, seed=4)[1] != val
    sub = labelled_subset(train, 0.25, seed=4)
    assert len(sub) == 2 and sub == labelled_subset(train, 0.25, seed=4)
    assert labelled_subset(train, 1.0, seed=4) == train


def test_semi_needs_a_fraction(cache_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="label_fraction"):
        run_finetune(_cfg(cache_dir, "finetune.protocol=semi"), tmp_path)
    result = run_finetune(_cfg(cache_dir, "finetune.protocol=semi", "data.label_fraction=0.5",
                               "finetune.epochs=1"), tmp_path)
    assert result["last"]["num_videos"] == 2
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    # 2 labelled videos of 4 at batch 2: one step per epoch
    assert [r["step"] for r in log if "loss" in r] == [1]
