"""``skelloc list | info | download | verify | cache | export | convert`` (docs/design/hub.md#cli)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import typer

from skelloc.errors import ChecksumMismatchError, ConfigError, WeightsNotCachedError

__all__ = ["register"]

_ENDPOINT = typer.Option(None, "--endpoint", help="Hub endpoint (default: SKELLOC_ENDPOINT, "
                         "HF_ENDPOINT, https://huggingface.co).")
_CACHE = typer.Option(None, "--cache-dir", help="Hub cache (default: SKELLOC_CACHE, "
                      "HF_HUB_CACHE, HF_HOME/hub).")
_WDIR = typer.Option(None, "--dir", "--weights-dir",
                     help="Pre-staged weights folder (default: SKELLOC_WEIGHTS_DIR).")


def _dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[None]:
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    was_disabled = are_progress_bars_disabled()
    if quiet and not was_disabled:
        disable_progress_bars()
    try:
        yield
    finally:
        if quiet and not was_disabled:
            enable_progress_bars()


def list_cmd(
    pattern: str = typer.Argument("*", help="fnmatch pattern, e.g. 'stgcn*'."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    markdown: bool = typer.Option(False, "--markdown", help="The README's Markdown table."),
) -> None:
    """List the models of the packaged and registered manifests."""
    from skelloc.hub import list_models, model_info, models_table

    if markdown:
        typer.echo(models_table(pattern), nl=False)
        return
    from skelloc.hub import registry

    names = list_models(pattern)
    if not names and pattern != "*":
        raise ConfigError(f"no model matches {pattern!r}; 'skelloc list' shows them all (flags "
                          "such as --json take no value)")
    default = registry().default
    infos = [model_info(n) for n in names]
    if as_json:
        _dump([{"name": i.name, "default": i.name == default,
                "description": i.entry.get("description", ""),
                "architecture": i.entry.get("architecture"),
                "headline_metric": headline_metric(i.entry),
                "cached": all(f.location != "missing" for f in i.files)} for i in infos])
        return
    for info in infos:
        cached = "cached" if all(f.location != "missing" for f in info.files) else "-"
        name = f"{info.name} (default)" if info.name == default else info.name
        typer.echo(f"{name}\t{info.entry.get('architecture')}\t{cached}\t"
                   f"{headline_metric(info.entry) or '-'}\t{info.entry.get('description', '')}")


def headline_metric(entry: dict[str, Any]) -> str:
    """The one number ``skelloc list`` shows: validation average mAP (tIoU 0.1-0.5), or ''."""
    value = (entry.get("metrics") or {}).get("average_mAP")
    return f"val avg mAP {100 * float(value):.1f}" if isinstance(value, int | float) else ""


def info_cmd(
    name: str = typer.Argument(..., help="Model name or alias."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    weights_dir: Optional[Path] = _WDIR,
    cache_dir: Optional[Path] = _CACHE,
) -> None:
    """Show a model's manifest entry, license and the cache status of each file."""
    from skelloc.hub import model_info

    info = model_info(name, weights_dir=weights_dir, cache_dir=cache_dir)
    if as_json:
        _dump(info.to_json())
        return
    e = info.entry
    typer.echo(f"name:         {info.name}")
    typer.echo(f"description:  {e.get('description', '')}")
    typer.echo(f"architecture: {e.get('architecture')} {json.dumps(e.get('model_args', {}))}")
    typer.echo(f"head:         {json.dumps(e.get('head', {}))}")
    typer.echo(f"input:        {json.dumps(e.get('input_spec', {}))}")
    names = e.get("labels", {}).get("names", [])
    typer.echo(f"classes:      {len(names)}: {', '.join(names)}")
    typer.echo(f"inference:    {json.dumps(e.get('inference', {}))}  (output threshold "
               "min_score, boundary_shift; override with --min-score / min_score=)")
    if headline_metric(e):
        typer.echo(f"accuracy:     {headline_metric(e)}")
    typer.echo(f"license:      {json.dumps(e.get('license', 'unspecified'))}")
    if e.get("hub"):
        typer.echo(f"hub:          {e['hub']['repo_id']}@{e['hub']['revision']}")
    typer.echo(f"manifest:     {info.origin}")
    for f in info.files:
        typer.echo(f"file {f.role:8s} {f.filename} ({f.size} B) sha256={f.sha256[:16]}... "
                   f"{f.location}{' ' + f.path if f.path else ''}")


def download_cmd(
    names: Optional[list[str]] = typer.Argument(None, help="Model names."),
    all_: bool = typer.Option(False, "--all", help="Every model in the manifests."),
    to: Optional[Path] = typer.Option(None, "--to", help="Stage into DIR/<name>/ for offline "
                                      "use (SKELLOC_WEIGHTS_DIR=DIR SKELLOC_OFFLINE=1)."),
    endpoint: Optional[str] = _ENDPOINT,
    cache_dir: Optional[Path] = _CACHE,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Download and verify models into the cache (or stage them with --to)."""
    from skelloc.hub import list_models, prefetch, stage_models

    selected = list_models() if all_ else list(names or [])
    if not selected:
        raise ConfigError("name at least one model, or pass --all (see 'skelloc list')")
    kw: dict[str, Any] = {"endpoint": endpoint, "cache_dir": cache_dir}
    result: dict[str, Any] = {}
    with _progress(quiet):
        if to is not None:
            for folder in stage_models(selected, to, **kw):
                result[folder.name] = str(folder)
        else:
            for name, files in prefetch(selected, **kw).items():
                result[name] = {role: str(p) for role, p in files.items()}
    if as_json:
        _dump(result)
        return
    for name, value in result.items():
        if isinstance(value, dict):
            for role, p in value.items():
                typer.echo(f"{name}\t{role}\tOK\t{p}")
        else:
            typer.echo(f"{name}\tstaged\tOK\t{value}")


def verify_cmd(
    names: Optional[list[str]] = typer.Argument(None, help="Model names (default: all)."),
    all_: bool = typer.Option(False, "--all", help="Every model in the manifests."),
    weights_dir: Optional[Path] = _WDIR,
    cache_dir: Optional[Path] = _CACHE,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-hash cached or staged files: OK, MISMATCH or MISSING per file (exit 4 / 5 on problems)."""
    from skelloc.hub import verify_models

    records = verify_models(None if all_ or not names else names, weights_dir=weights_dir,
                            cache_dir=cache_dir)
    if as_json:
        _dump([r.__dict__ for r in records])
    else:
        for r in records:
            typer.echo(f"{r.name}\t{r.role}\t{r.status}\t{r.path or r.filename}")
    bad = [r for r in records if r.status == "MISMATCH"]
    missing = [r for r in records if r.status == "MISSING"]
    if bad:
        raise ChecksumMismatchError(f"{len(bad)} file(s) fail verification: "
                                    + ", ".join(f"{r.name}/{r.filename}" for r in bad)
                                    + "; delete them with 'skelloc cache clear NAME' and download "
                                    "again")
    if missing:
        raise WeightsNotCachedError(f"{len(missing)} file(s) missing: "
                                    + ", ".join(f"{r.name}/{r.filename}" for r in missing)
                                    + "; run 'skelloc download NAME'")


cache_app = typer.Typer(help="Inspect or clear the Hub cache used by skelloc.",
                        no_args_is_help=True)


@cache_app.command("path")
def cache_path_cmd(cache_dir: Optional[Path] = _CACHE) -> None:
    """Print the cache folder (shared with huggingface_hub)."""
    from skelloc.hub import cache_path

    typer.echo(str(cache_path(cache_dir)))


@cache_app.command("clear")
def cache_clear_cmd(
    names: Optional[list[str]] = typer.Argument(None, help="Models (default: all skelloc models)."),
    cache_dir: Optional[Path] = _CACHE,
) -> None:
    """Delete cached skelloc weights (only the manifest's files at their pinned commits)."""
    from skelloc.hub import clear_cache

    removed = clear_cache(names or None, cache_dir=cache_dir)
    for p in removed:
        typer.echo(f"removed\t{p}")
    typer.echo(f"{len(removed)} file(s) removed")


def export_cmd(
    name: str = typer.Argument(..., help="Model name."),
    to: Path = typer.Option(..., "--to", help="Output folder (Hub-ready)."),
    endpoint: Optional[str] = _ENDPOINT,
    cache_dir: Optional[Path] = _CACHE,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Write a Hub-ready folder: weights, manifest entry, SHA256SUMS and a model card."""
    from skelloc.hub import export_registered

    with _progress(quiet):
        folder = export_registered(name, to, endpoint=endpoint, cache_dir=cache_dir)
    typer.echo(str(folder))


def convert_cmd(
    checkpoint: Path = typer.Argument(..., help="The original checkpoint (.pt/.pth/.safetensors)."),
    from_: str = typer.Option(..., "--from", help="stgcn | aimclr | rvtclr | snipclr | agcn"),
    out: Path = typer.Option(..., "--out", help="Output skelloc model folder."),
    layout: Optional[str] = typer.Option(None, "--layout",
                                         help="Skeleton layout (default: from the joint count)."),
    stride_blocks: Optional[str] = typer.Option(
        None, "--stride-blocks", help="1-based blocks that stride by 2, e.g. '5,8' "
        "(default: the source's published plan)."),
) -> None:
    """Convert an original ST-GCN / AimCLR / RVTCLR / SnipCLR / 2s-AGCN checkpoint."""
    from skelloc.hub import convert_checkpoint

    blocks = None
    if stride_blocks:
        try:
            blocks = [int(b) for b in stride_blocks.split(",") if b.strip()]
        except ValueError:
            raise ConfigError(f"--stride-blocks {stride_blocks!r}: expected e.g. '5,8'") from None
    folder = convert_checkpoint(from_, checkpoint, out, layout=layout, stride_blocks=blocks)
    typer.echo(str(folder))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("list")(list_cmd)
    app.command("info")(info_cmd)
    app.command("download")(download_cmd)
    app.command("verify")(verify_cmd)
    app.add_typer(cache_app, name="cache")
    app.command("export")(export_cmd)
    app.command("convert")(convert_cmd)

