"""Stage 1: self-supervised pretraining loop (``skelloc train pretrain``).

Outputs in ``out_dir``: ``pretrain.safetensors`` (query and key encoders, heads and queues;
keys ``encoder_q.*`` are what finetuning keeps), ``encoder/`` (the query encoder as an
encoder-only :class:`~skelloc.models.localizer.Localizer`, loadable with ``skelloc.load``),
``checkpoint.pt`` (the full training state for ``resume``), ``log.jsonl`` and ``config.json``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from skelloc.train.augment import apply_pipeline, tempo_clips
from skelloc.train.batching import WindowBank
from skelloc.train.common import (
    batch_items,
    build_model,
    init_encoder,
    model_metadata,
    open_cache,
    steps_per_epoch,
)
from skelloc.train.config import PretrainConfig, TrainConfig, config_to_dict
from skelloc.train.contrastive import ContrastiveModel
from skelloc.train.data import plan_windows, prepare_videos, split_train_val
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
    save_safetensors,
    set_lr,
    setup_distributed,
    step_generator,
    write_json,
)

__all__ = ["run_pretrain", "make_views"]

logger = logging.getLogger(__name__)


def _flip_permutation(layout: str, num_joints: int) -> list[int] | None:
    """The layout's left/right permutation (:attr:`Layout.flip_index`); for a layout that is
    not registered, that of the default layout of ``num_joints`` joints, else None (no flip)."""
    from skelloc.errors import ConfigError
    from skelloc.skeleton.layouts import get_layout, layout_for_joints

    for name in (layout, layout_for_joints(num_joints)):
        try:
            lay = get_layout(name) if name else None
        except ConfigError:
            continue
        if lay is not None and lay.num_joints == num_joints:
            return list(lay.flip_index)
    return None


def make_views(x: torch.Tensor, cfg: PretrainConfig, g: torch.Generator,
               flip_permutation: list[int] | None = None) -> dict[str, torch.Tensor]:
    """The augmented views :class:`ContrastiveModel` expects for ``cfg.method``, from a batch of
    windows ``x`` (N, C, T, V, M)."""
    aug = cfg.augment

    def view(src: torch.Tensor, names: list[str]) -> torch.Tensor:
        return apply_pipeline(src, names, g, aug, flip_permutation)

    if cfg.method == "rvtclr":
        slow, fast = tempo_clips(x)
        n = x.shape[0]
        own_fast = torch.zeros(n, dtype=torch.bool)
        own_fast[torch.randperm(n, generator=g)[: n // 2]] = True
        sel = own_fast.to(x.device).view(n, 1, 1, 1, 1)
        own, other = torch.where(sel, fast, slow), torch.where(sel, slow, fast)
        views = {"q": view(own, aug.query), "k_other": view(other, aug.key)}
        if cfg.global_loss:
            views["k"] = view(own, aug.key)
            views["n"] = view(own, aug.key)
        views["fast"] = own_fast.to(x.device)
        return views
    views = {"q": view(x, aug.query), "k": view(x, aug.key)}
    if cfg.method == "aimclr" and cfg.global_loss:
        views["e"] = view(x, aug.extreme)
    return views


def run_pretrain(cfg: TrainConfig, out_dir: str | Path, *, resume: bool = False,
                 init: str | Path | None = None) -> Path:
    """Pretrain an encoder with ``cfg.pretrain`` on ``cfg.data``; returns ``pretrain.safetensors``.

    ``init`` (a pretraining result or a saved model, as for finetuning) starts both the query and
    the key encoder from its encoder weights instead of a random initialisation: continued
    pretraining on more data.

    Runs on one process, or on every process of a ``torchrun`` launch (DDP; gloo on CPU, NCCL
    on GPU). With ``resume`` it continues from ``out_dir/checkpoint.pt`` exactly where the
    interrupted run stopped.
    """
    out = Path(out_dir)
    d = setup_distributed(cfg.device)
    device = resolve_device(cfg.device, d)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    pcfg = cfg.pretrain

    cache = open_cache(cfg)
    train_videos, _ = split_train_val(cache, cfg.data.train_split, cfg.data.val_split,
                                      cfg.data.val_fraction, cfg.data.val_seed,
                                      cfg.data.max_frames)
    torch.manual_seed(derive_seed(cfg.seed, "init"))
    localizer = build_model(cfg, cache, head=False)
    if init is not None:
        init_encoder(localizer, init)
    spec = localizer.input_spec
    model = ContrastiveModel(localizer.encoder, pcfg,
                             generator=step_generator(cfg.seed, "queues")).to(device)
    videos = prepare_videos(cache, train_videos, spec, with_labels=False)
    if not videos:
        from skelloc.errors import EmptyInputError

        raise EmptyInputError(f"no training videos in {cache.root}")
    lengths = [v.num_frames for v in videos]
    bank = WindowBank(videos, device)  # batches are gathered where the model runs
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed window shapes: pick the fastest kernels
    num_windows = len(plan_windows(lengths, cfg.data.window, cfg.data.window_stride))
    spe = steps_per_epoch(num_windows, pcfg.batch_size, d)
    total = pcfg.epochs * spe
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    flip = _flip_permutation(spec.layout, spec.num_joints)

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=pcfg.lr, momentum=pcfg.sgd_momentum,
                                weight_decay=pcfg.weight_decay)
    step = 0
    ckpt_path = out / "checkpoint.pt"
    if resume and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        torch.set_rng_state(state["rng"])
        logger.info("resumed pretraining at step %d", step)
    elif resume:
        logger.warning("no checkpoint in %s: starting from scratch", out)

    net: Any = model
    if d.enabled:
        import inspect

        ddp = torch.nn.parallel.DistributedDataParallel
        # the queues are updated identically on every process: no per-step buffer broadcast
        sync: dict[str, Any] = ({"forward_sync_buffers": False}
                if "forward_sync_buffers" in inspect.signature(ddp).parameters
                else {"broadcast_buffers": False})
        net = ddp(model, device_ids=[device.index] if device.type == "cuda" else None, **sync)
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", config_to_dict(cfg))
    log = JsonlLogger(out / "log.jsonl" if d.is_main else None, start_step=step)
    logger.info("pretraining: %d windows, %d steps/epoch, %d steps", num_windows, spe, total)

    def checkpoint() -> None:
        if d.is_main:
            save_checkpoint(ckpt_path, {"model": model.state_dict(),
                                        "optimizer": optimizer.state_dict(), "step": step,
                                        "rng": torch.get_rng_state()})

    model.train()
    windows = torch.zeros(0, 2, dtype=torch.long)
    epoch_of_windows = -1
    t0 = time.time()
    with progress(total, step, cfg.progress and d.is_main, "pretrain") as bar:
        while step < total:
            epoch, index = divmod(step, spe)
            if epoch != epoch_of_windows:
                windows = torch.tensor(plan_windows(lengths, cfg.data.window,
                                                    cfg.data.window_stride,
                                                    step_generator(cfg.seed, "windows", epoch)),
                                       dtype=torch.long)
                epoch_of_windows = epoch
            items = windows[batch_items(len(windows), epoch, index, pcfg.batch_size, d,
                                        cfg.seed, "pretrain")]
            x, _ = bank.collate(items, cfg.data.window)
            g = step_generator(cfg.seed, "augment", step, d.rank)
            torch.manual_seed(derive_seed(cfg.seed, "torch", step, d.rank))
            views = {k: v.to(device, non_blocking=True)
                     for k, v in make_views(x, pcfg, g, flip).items()}
            lr = lr_at(step, spe, pcfg.lr, pcfg.warmup_epochs, pcfg.milestones, pcfg.gamma)
            set_lr(optimizer, lr)
            mining = pcfg.mining_epoch is not None and epoch >= pcfg.mining_epoch
            with autocast(device, cfg.amp):
                losses = net(views, mining=mining)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            step += 1
            bar.update(1)
            if step % max(1, cfg.log_every) == 0 or step == total:
                # reading the losses waits for the GPU: only on logging steps
                values = {k: round(float(v.detach()), 5) for k, v in losses.items()}
                log.log(step=step, epoch=epoch, lr=lr, **values)
                bar.set_postfix(loss=values["loss"])
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < total:
                checkpoint()
    checkpoint()
    barrier(d)
    result = out / "pretrain.safetensors"
    if d.is_main:
        _save_results(model, localizer, result, out / "encoder")
        log.log(event="done", step=step, seconds=round(time.time() - t0, 2))
    barrier(d)
    return result


def _save_results(model: ContrastiveModel, localizer: Any, path: Path, encoder_dir: Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_safetensors(state, path, model_metadata(localizer))
    localizer.cpu().save(encoder_dir)  # its encoder *is* model.encoder_q
