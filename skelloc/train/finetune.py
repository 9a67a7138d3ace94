"""Stage 2: supervised frame-level training loop (``skelloc train finetune``).

Protocols (docs/design/method.md#protocols): ``finetune`` trains everything; ``linear`` freezes the encoder
(weights and BatchNorm statistics) and trains the head; ``semi`` is ``finetune`` on a seeded
``data.label_fraction`` of the training videos. The loss is per-frame cross-entropy over
``K+1`` classes with padded frames masked out (``IGNORE_INDEX``); with ``model.output =
"sigmoid"`` (multi-label ground truth, e.g. BABEL) it is per-class binary cross-entropy on
multi-hot targets (every overlapping segment counts; background = no segment), mean over
classes and unpadded frames. Model selection uses only the
validation split carved from the training data.

Outputs in ``out_dir``: ``best.safetensors`` (highest validation average mAP), ``last.safetensors``,
``metrics.json`` (per-evaluation history, best and last), ``checkpoint.pt`` (for ``resume``),
``log.jsonl`` and ``config.json``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from skelloc.errors import ConfigError, EmptyInputError
from skelloc.train.augment import apply_pipeline
from skelloc.train.batching import WindowBank
from skelloc.train.common import (
    batch_items,
    build_from_hub,
    build_model,
    init_encoder,
    is_hub_init,
    open_cache,
    steps_per_epoch,
)
from skelloc.train.config import TrainConfig, config_to_dict
from skelloc.train.data import (
    IGNORE_INDEX,
    labelled_subset,
    plan_windows,
    prepare_videos,
    split_train_val,
)
from skelloc.train.evaluate import evaluate_videos, json_ready
from skelloc.train.runtime import (
    JsonlLogger,
    autocast,
    barrier,
    derive_seed,
    load_checkpoint,
    lr_at,
    progress,
    resolve_device,
    save_checkpoint,
    set_lr,
    setup_distributed,
    step_generator,
    write_json,
)

__all__ = ["run_finetune", "masked_frame_loss", "masked_multilabel_loss"]

logger = logging.getLogger(__name__)


def masked_frame_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the frames whose label is not ``IGNORE_INDEX``.

    ``logits`` (N, K+1, T), ``labels`` (N, T). A batch without any labelled frame gives 0
    (still connected to the graph, so DDP sees every parameter).
    """
    valid = labels != IGNORE_INDEX
    if labels.device.type != "cpu":  # the same mean without a host sync (0 when nothing is valid)
        total = F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX,
                                reduction="sum")
        return total / valid.sum().clamp_min(1)
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX)


def masked_multilabel_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy (with logits) over the classes of the unpadded frames.

    ``logits`` (N, K+1, T), ``targets`` (N, T, K+1) multi-hot, padded frames negative
    (``IGNORE_TARGET``). A batch without any labelled frame gives 0 (still in the graph).
    """
    valid = targets[..., 0] >= 0  # (N, T)
    if not bool(valid.any()):
        return logits.sum() * 0.0
    z = logits.float().transpose(1, 2)[valid]  # (F, K+1)
    return F.binary_cross_entropy_with_logits(z, targets[valid])


def _set_train_mode(model: Any, linear: bool) -> None:
    model.train()
    if linear:
        model.encoder.eval()  # frozen BatchNorm statistics too


def run_finetune(cfg: TrainConfig, out_dir: str | Path, *, init: str | Path | None = None,
                 resume: bool = False) -> dict[str, Any]:
    """Train a localizer; returns the content of ``metrics.json``.

    ``init`` is a hub model name (its encoder, fetched and verified like ``skelloc.load``;
    the data's layout is converted to the encoder's), a pretraining result
    (``pretrain.safetensors``, its folder or a
    ``checkpoint.pt``) or a saved model: only the encoder weights are taken. Runs on one
    process or under ``torchrun`` (DDP); ``resume`` continues from ``out_dir/checkpoint.pt``.
    """
    fcfg = cfg.finetune
    moving = sorted(set(fcfg.augment) & {"temporal_crop", "crop_resize"})
    if moving:
        raise ConfigError(f"finetune.augment: {', '.join(moving)} move frames and would "
                          "misalign the frame labels; use spatial augmentations only")
    if fcfg.protocol == "semi" and cfg.data.label_fraction >= 1.0:
        raise ConfigError("protocol 'semi' needs data.label_fraction < 1 (e.g. 0.2)")
    out = Path(out_dir)
    d = setup_distributed(cfg.device)
    device = resolve_device(cfg.device, d)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)

    cache = open_cache(cfg)
    if not cache.labelled or cache.num_classes < 1:
        raise ConfigError(f"{cache.root} has no labelled classes: finetuning needs a cache")
    train_rec, val_rec = split_train_val(cache, cfg.data.train_split, cfg.data.val_split,
                                         cfg.data.val_fraction, cfg.data.val_seed,
                                         cfg.data.max_frames)
    train_rec = labelled_subset(train_rec, cfg.data.label_fraction, cfg.data.label_seed)
    if not train_rec:
        raise EmptyInputError(f"no training videos in {cache.root}")
    if cfg.model.head is None:
        raise ConfigError("finetuning needs a head (model.head = ufusion, simple or tconv)")

    torch.manual_seed(derive_seed(cfg.seed, "init"))
    if is_hub_init(init):  # a hub model name: its encoder, a new head
        model = build_from_hub(cfg, cache, str(init))
    else:
        model = build_model(cfg, cache, head=True)
        if init is not None:
            init_encoder(model, init)
    linear = fcfg.protocol == "linear"
    if linear:
        for p in model.encoder.parameters():
            p.requires_grad_(False)
    model.to(device)
    multilabel = cfg.model.output == "sigmoid"
    videos = prepare_videos(cache, train_rec, model.input_spec, with_labels=True,
                            multilabel=multilabel)

    from skelloc.skeleton.layouts import get_layout

    flip = get_layout(model.input_spec.layout).flip_index
    whole = cfg.data.finetune_input == "whole"
    items: list[tuple[int, int]] = [(i, 0) for i in range(len(videos))]
    if not whole:
        items = plan_windows([v.num_frames for v in videos], cfg.data.finetune_window,
                             cfg.data.finetune_window_stride)
    spe = steps_per_epoch(len(items), fcfg.batch_size, d)
    bank = WindowBank(videos, device)  # batches are gathered where the model runs
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not whole  # fixed window shapes only
    total = fcfg.epochs * spe
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)

    params = [p for p in model.parameters() if p.requires_grad]
    if fcfg.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(
            params, lr=fcfg.lr, weight_decay=fcfg.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=fcfg.lr, momentum=fcfg.sgd_momentum,
                                    weight_decay=fcfg.weight_decay)

    step, best, history = 0, -math.inf, []
    best_record: dict[str, Any] | None = None
    ckpt_path = out / "checkpoint.pt"
    if resume and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        history = list(state["history"])
        best_record = next((h for h in reversed(history) if h.get("is_best_so_far") and
                            h.get("average_mAP") == best), None)
        torch.set_rng_state(state["rng"])
        logger.info("resumed finetuning at step %d", step)
    elif resume:
        logger.warning("no checkpoint in %s: starting from scratch", out)

    net: Any = model
    if d.enabled:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", config_to_dict(cfg))
    log = JsonlLogger(out / "log.jsonl" if d.is_main else None, start_step=step)
    logger.info("finetuning (%s): %d training videos, %d validation videos, %d steps/epoch, "
                "%d steps", fcfg.protocol, len(videos), len(val_rec), spe, total)

    def checkpoint() -> None:
        if d.is_main:
            save_checkpoint(ckpt_path, {"model": model.state_dict(),
                                        "optimizer": optimizer.state_dict(), "step": step,
                                        "best": best, "history": history,
                                        "rng": torch.get_rng_state()})

    def validate(epoch: int) -> None:
        nonlocal best, best_record
        record: dict[str, Any] = {"epoch": epoch, "step": step}
        val_videos = val_rec[: cfg.eval.max_videos]  # max_videos = 0: no validation at all
        if val_videos:
            res = evaluate_videos(model, cache, val_videos,
                                  decoder=cfg.eval.decoder, decoder_args=cfg.eval.decoder_args,
                                  tiou_thresholds=cfg.eval.tiou_thresholds,
                                  protocol=cfg.eval.protocol, device=device)
            record.update(json_ready(res))
        score = record.get("average_mAP")
        score = -math.inf if score is None or score != score else float(score)
        model.cpu().save(out / "last.safetensors")
        if score > best or best_record is None:
            best = max(best, score)
            record["is_best_so_far"] = True
            model.save(out / "best.safetensors")
            best_record = record
        model.to(device)
        history.append(record)
        log.log(event="eval", **{k: v for k, v in record.items() if k != "per_class_ap"})
        write_json(out / "metrics.json", {"best": best_record, "last": record,
                                          "history": history})

    t0 = time.time()
    _set_train_mode(model, linear)
    with progress(total, step, cfg.progress and d.is_main, "finetune") as bar:
        while step < total:
            epoch, index = divmod(step, spe)
            batch = [items[i] for i in batch_items(len(items), epoch, index, fcfg.batch_size, d,
                                                   cfg.seed, "finetune")]
            length = (max(videos[i].num_frames for i, _ in batch) if whole
                      else cfg.data.finetune_window)
            x, y = bank.collate(batch, length)
            assert y is not None
            if fcfg.augment:
                x = apply_pipeline(x, fcfg.augment, step_generator(cfg.seed, "augment", step,
                                                                   d.rank),
                                   fcfg.augment_args, flip_permutation=flip)
            torch.manual_seed(derive_seed(cfg.seed, "torch", step, d.rank))
            lr = lr_at(step, spe, fcfg.lr, fcfg.warmup_epochs, fcfg.milestones, fcfg.gamma)
            set_lr(optimizer, lr)
            with autocast(device, cfg.amp):
                logits = net(x)
            loss = masked_multilabel_loss(logits, y) if multilabel else masked_frame_loss(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            bar.update(1)
            if step % max(1, cfg.log_every) == 0 or step == total:
                value = round(float(loss.detach()), 5)  # waits for the GPU: logging steps only
                log.log(step=step, epoch=epoch, lr=lr, loss=value)
                bar.set_postfix(loss=value)
            epoch_done = step % spe == 0 or step == total
            if epoch_done and d.is_main and (
                    (epoch + 1) % max(1, fcfg.eval_every) == 0 or step == total):
                validate(epoch)
                _set_train_mode(model, linear)
            if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or epoch_done:
                checkpoint()
            if epoch_done:
                barrier(d)
    if d.is_main and not history:  # resumed after the last step, or zero steps
        validate(max(0, (step - 1) // spe))
    checkpoint()
    barrier(d)
    if d.is_main:
        log.log(event="done", step=step, seconds=round(time.time() - t0, 2))
    return {"best": best_record, "last": history[-1] if history else None, "history": history}

