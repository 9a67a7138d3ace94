"""`skelloc train ...`: pretraining, finetuning, evaluation and export of trained models."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer

_SET_HELP = "Override a config value: key=value (TOML literal), e.g. --set seed=1. Repeatable."


def _config(config: str, data: Optional[Path], overrides: Optional[list[str]]) -> Any:
    from skelloc.train import load_config

    sets = list(overrides or [])
    if data is not None:
        sets.insert(0, f"data.path={json.dumps(str(data))}")
    return load_config(config, sets)


def _echo(text: str) -> None:
    """Print once under torchrun (rank 0 only)."""
    if os.environ.get("RANK", "0") == "0":
        typer.echo(text)


def _out(out: Optional[Path], cfg: Any, stage: str) -> Path:
    return out if out is not None else Path("runs") / cfg.name / stage


def pretrain(
    config: str = typer.Argument(..., help="Recipe name (see `skelloc train recipes`) or TOML file."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default runs/NAME/pretrain)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.pt."),
    data: Optional[Path] = typer.Option(None, "--data", help="Training cache (sets data.path)."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=_SET_HELP),
    init: Optional[Path] = typer.Option(None, "--init", help="Start from this encoder "
                                        "(pretraining result or saved model): continued "
                                        "pretraining."),
) -> None:
    """Self-supervised pretraining (base method + snippet branch)."""
    from skelloc.train import run_pretrain

    cfg = _config(config, data, overrides)
    path = run_pretrain(cfg, _out(out, cfg, "pretrain"), resume=resume, init=init)
    _echo(f"pretrained encoder: {path}")


def finetune(
    config: str = typer.Argument(..., help="Recipe name or TOML file."),
    init: Optional[str] = typer.Option(
        None, "--init", help="Hub model name (its encoder, new head; e.g. "
                             "stgcn16-snippet-pkummd-encoder), pretraining result or checkpoint."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default runs/NAME/finetune)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.pt."),
    data: Optional[Path] = typer.Option(None, "--data", help="Training cache (sets data.path)."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=_SET_HELP),
) -> None:
    """Frame-level training of a localizer (finetune, linear or semi protocol)."""
    from skelloc.train import run_finetune

    cfg = _config(config, data, overrides)
    folder = _out(out, cfg, "finetune")
    result = run_finetune(cfg, folder, init=init, resume=resume)
    best = result.get("best") or {}
    _echo(f"best: {folder / 'best.safetensors'} (epoch {best.get('epoch')}, "
               f"val average mAP {_pct(best.get('average_mAP'))})")
    _echo(f"last: {folder / 'last.safetensors'}")


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{100 * float(x):.2f}"


def evaluate(
    ckpt: str = typer.Argument(..., help="Saved model (.safetensors, folder) or model name."),
    data: Path = typer.Argument(..., help="Training cache (dataset.json + skeletons/)."),
    split: str = typer.Option("val", "--split", help="val, test, train or all."),
    decoder: str = typer.Option("proposals", "--decoder", help="proposals or argmax."),
    protocol: str = typer.Option("anet", "--protocol", help="anet, frameset or pkummd."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the result JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Detection mAP (tIoU 0.1-0.5) and frame accuracy of a model on a cache split."""
    from skelloc.train import evaluate_model, json_ready

    result = evaluate_model(ckpt, data, split=split, decoder=decoder, protocol=protocol, out=out)
    if as_json:
        typer.echo(json.dumps(json_ready(result), indent=2, sort_keys=True))
        return
    typer.echo(f"{result['num_videos']} videos ({split}), decoder {result['decoder']}, "
               f"protocol {result['protocol']}")
    for t, v in result.get("mAP", {}).items():
        typer.echo(f"mAP@{t}: {_pct(v)}")
    typer.echo(f"average mAP: {_pct(result.get('average_mAP'))}")
    typer.echo(f"frame accuracy: {_pct(result['frame_accuracy'])}")


def export(
    ckpt: Path = typer.Argument(..., help="A trained model (best.safetensors or a saved folder)."),
    name: str = typer.Option(..., "--name", help="Model name in the manifest entry."),
    to: Path = typer.Option(..., "--to", help="Output folder (weights, manifest entry, card)."),
    metrics: Optional[Path] = typer.Option(
        None, "--metrics", help="metrics.json of the run (default: beside CKPT, if present)."),
    description: str = typer.Option("", "--description", help="One-line description."),
) -> None:
    """Export a trained model as a hub folder that `skelloc.load` accepts."""
    from skelloc.train import export_trained

    folder = export_trained(ckpt, name, to, metrics=metrics, description=description)
    typer.echo(f"exported {name} to {folder}")


def features(
    ckpt: str = typer.Argument(..., help="Saved model (.safetensors, folder) or model name."),
    data: Path = typer.Argument(..., help="Training cache (dataset.json + skeletons/)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for <video id>.npy features."),
    split: str = typer.Option("all", "--split", help="all, train, val or test."),
    level: str = typer.Option("fused", "--level", help="fused (head) or encoder."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, ..."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Recompute existing files."),
) -> None:
    """Frame features of every video of a cache (shards across torchrun processes)."""
    from skelloc.train import extract_dataset_features

    paths = extract_dataset_features(ckpt, data, out, split=split, level=level, device=device,
                                     overwrite=overwrite)
    _echo(f"{len(paths)} feature files in {out}")


def recipes() -> None:
    """List the shipped training recipes."""
    from skelloc.train import list_recipes

    for name in list_recipes():
        typer.echo(name)


def register(app: typer.Typer) -> None:
    """Add the ``train`` command group to ``app``."""
    group = typer.Typer(help="Pretrain, finetune, evaluate and export models.",
                        no_args_is_help=True)
    group.command("pretrain")(pretrain)
    group.command("finetune")(finetune)
    group.command("evaluate")(evaluate)
    group.command("export")(export)
    group.command("features")(features)
    group.command("recipes")(recipes)
    app.add_typer(group, name="train")
