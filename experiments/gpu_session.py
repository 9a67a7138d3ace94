"""One GPU session for issue 18: speed figures, the full-width models and the claim ablation.

One command on the device machine does everything, inside a fixed time budget::

    PYTHONPATH=$PWD python experiments/gpu_session.py --archive .devcache/pkummd15.tar.xz \\
        --out "$OUT" --budget 470

``--archive`` is a ``tar.xz`` of a ``skelloc prepare pkummd ... --fps 15 --val-performances
docs/splits/pkummd-v1-val-performances.txt`` cache (or pass the folder with ``--data``). Steps:

1. **Pretraining speed probe** (GPU to itself): 60 steps of the ``pkummd-agcn64`` recipe's
   RVTCLR + snippet pretraining (batch 64 × 150 frames); steps/s from ``log.jsonl``.
2. **Training** (several processes share the GPU; a job starts only while its estimated time
   fits before the training deadline, and any job still running then is stopped): RVTCLR
   pretraining with and without the snippet branch, finetuning of the full-width 2s-AGCN +
   U-head from scratch, from the global-only and from the snippet encoder, at 100 % and 20 % of
   the training videos' labels, seed 0 first, then more finetuning seeds. Every finetuning run
   is evaluated on the validation split after its **last** epoch (no model selection). The two
   seed-0 runs at 100 % are the release candidates ``agcn-scratch-pkummd`` and
   ``agcn-snippet-pkummd``: their weights come back in fp16, evaluated again in fp16.
3. **Inference figures** (GPU to itself again): ``benchmarks/bench_inference.py --section gpu``
   and end-to-end ``localize`` of 60 minutes (2 persons, 30 fps) with its time split into
   preparation (NumPy on the host and torch on the device), windows and the rest; then, if time
   is left, the same benchmark with ``--compile``.

Outputs in ``--out``: ``session.json`` (every number, with the settings), ``cells.tar.gz``
(each finetuning run's ``result.json`` + ``frames.npz``, the layout
``experiments/ablation_report.py`` reads), the fp16 weights of the release candidates and the
snippet encoder, and ``session.log``. ``--tiny`` runs every path in seconds on the CPU with tiny
widths and step counts (a smoke test of this script).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))
sys.path.insert(0, str(REPO / "benchmarks"))

logger = logging.getLogger("gpu_session")

RECIPE = "pkummd-agcn64"
RELEASE = {"none": "agcn-scratch-pkummd", "snippet": "agcn-snippet-pkummd"}
TINY = {
    "device": "cpu",
    "model.model_args": {"base_channels": 4},
    "model.head_args": {"ufusion": {"fusion_dim": 8}},
    "pretrain.feature_dim": 8,
    "pretrain.queue_size": 64,
    "pretrain.snippet_queue_size": 64,
    "pretrain.batch_size": 4,
    "finetune.batch_size": 2,
    "max_steps": 2,
}


# --------------------------------------------------------------------------- jobs
@dataclass
class Job:
    name: str
    kind: str  # "pretrain" | "finetune"
    params: dict[str, Any]
    priority: int
    deps: list[str] = field(default_factory=list)
    estimate_s: float = 60.0
    state: str = "waiting"  # waiting | running | done | failed | stopped | skipped
    started: float | None = None
    seconds: float | None = None


def _config(args: argparse.Namespace, seed: int, overrides: dict[str, Any]) -> Any:
    from skelloc.train.config import apply_overrides, load_config

    base: dict[str, Any] = {"data.path": str(args.data), "seed": seed, "progress": False,
                            "num_threads": args.threads, "device": args.device}
    if args.tiny:
        base.update(TINY)
    base.update(overrides)
    return apply_overrides(load_config(RECIPE), base)


def _steps_per_second(log: Path, skip: int = 10) -> float | None:
    """Training steps per second from a ``log.jsonl``, leaving out the first ``skip`` steps
    (CUDA start, cuDNN autotuning)."""
    rows = [json.loads(x) for x in log.read_text().splitlines() if '"step"' in x]
    rows = [r for r in rows if "loss" in r and r["step"] >= skip]
    if len(rows) < 2 or rows[-1]["time"] <= rows[0]["time"]:
        return None
    return (rows[-1]["step"] - rows[0]["step"]) / (rows[-1]["time"] - rows[0]["time"])


def run_pretrain_job(args: argparse.Namespace, p: dict[str, Any], out: Path) -> dict[str, Any]:
    from skelloc.train.pretrain import run_pretrain

    epochs = int(p["epochs"])
    cfg = _config(args, int(p["seed"]), {
        "pretrain.snippet": p["kind"] == "snippet",
        "pretrain.epochs": epochs,
        "pretrain.milestones": [max(1, int(epochs * 0.8))],
        **({"max_steps": p["max_steps"]} if p.get("max_steps") else {}),
    })
    t0 = time.time()
    run_pretrain(cfg, out)
    seconds = time.time() - t0
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    steps = max(r.get("step", 0) for r in rows)
    return {"seconds": seconds, "steps": steps, "epochs": epochs,
            "steps_per_s": _steps_per_second(out / "log.jsonl"),
            "batch": cfg.pretrain.batch_size, "window": cfg.data.window}


def run_finetune_job(args: argparse.Namespace, p: dict[str, Any], out: Path) -> dict[str, Any]:
    from ablation import Cell, evaluate_cell

    from skelloc.models.localizer import Localizer
    from skelloc.train.finetune import run_finetune

    cell = Cell(p["pretrain"], "ufusion", float(p["labels"]), int(p["seed"]))
    epochs = int(p["epochs"])
    cfg = _config(args, cell.seed, {
        "data.label_fraction": cell.labels,
        "data.label_seed": 1000 + cell.seed,
        "finetune.protocol": "semi" if cell.labels < 1.0 else "finetune",
        "finetune.epochs": epochs,
        "finetune.milestones": [max(1, int(epochs * 0.8))],
        "finetune.eval_every": 10**6,
        "eval.max_videos": 0,  # no validation during training: the last epoch is reported
    })
    t0 = time.time()
    run_finetune(cfg, out, init=p.get("init"))
    seconds = time.time() - t0
    ns = argparse.Namespace(data=args.data, threads=args.threads)
    device = "cpu" if args.tiny else args.device
    res = evaluate_cell(ns, cell, out / "last.safetensors", out, seconds, device=device)
    info: dict[str, Any] = {"seconds": seconds, "metrics": res["metrics"],
                            "steps_per_s": _steps_per_second(out / "log.jsonl")}
    if p.get("release"):
        half = out / "fp16.safetensors"
        Localizer.load(out / "last.safetensors").half().save(half)
        (out / "fp16").mkdir(exist_ok=True)
        res16 = evaluate_cell(ns, cell, half, out / "fp16", seconds, device=device)
        info["metrics_fp16"] = res16["metrics"]
    return info


def run_pipeline_job(args: argparse.Namespace, p: dict[str, Any], out: Path) -> dict[str, Any]:
    """Where a pretraining step's time goes: batches + augmented views alone, and the model
    step alone on fixed views (steps/s of each, ``p["steps"]`` steps after 5 warm-up steps)."""
    import torch

    from skelloc.train.batching import WindowBank
    from skelloc.train.common import build_model, open_cache
    from skelloc.train.contrastive import ContrastiveModel
    from skelloc.train.data import plan_windows, prepare_videos, split_train_val
    from skelloc.train.pretrain import _flip_permutation, make_views
    from skelloc.train.runtime import Dist, autocast, resolve_device, step_generator

    cfg = _config(args, 0, {})
    device = resolve_device(cfg.device, Dist())
    torch.backends.cudnn.benchmark = True
    cache = open_cache(cfg)
    train, _ = split_train_val(cache, cfg.data.train_split, cfg.data.val_split)
    loc = build_model(cfg, cache, head=False)
    videos = prepare_videos(cache, train, loc.input_spec, with_labels=False)
    bank = WindowBank(videos, device)
    windows = torch.tensor(plan_windows([v.num_frames for v in videos], cfg.data.window, None),
                           dtype=torch.long)
    model = ContrastiveModel(loc.encoder, cfg.pretrain).to(device).train()
    opt = torch.optim.SGD([q for q in model.parameters() if q.requires_grad], lr=0.01,
                          momentum=0.9)
    flip = _flip_permutation(loc.input_spec.layout, loc.input_spec.num_joints)
    bs = cfg.pretrain.batch_size
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def views(step: int) -> dict[str, torch.Tensor]:
        idx = torch.randperm(len(windows), generator=step_generator(0, step))[:bs]
        x, _ = bank.collate(windows[idx], cfg.data.window)
        return make_views(x, cfg.pretrain, step_generator(1, step), flip)

    def model_step(v: dict[str, torch.Tensor]) -> None:
        with autocast(device, cfg.amp):
            loss = model(v)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def rate(fn: Any, n: int) -> float:
        for i in range(5):
            fn(i)
        sync()
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        sync()
        return n / (time.perf_counter() - t0)

    n = int(p["steps"])
    fixed = views(0)
    return {"views_only_steps_per_s": rate(views, n),
            "model_only_steps_per_s": rate(lambda i: model_step(fixed), n),
            "both_steps_per_s": rate(lambda i: model_step(views(i)), n),
            "batch": bs, "window": cfg.data.window,
            "peak_cuda_gib": torch.cuda.max_memory_allocated() / 2**30
            if device.type == "cuda" else None}


def job_main(spec: str) -> int:
    """Child process entry: run one job, write ``job.json`` in its folder."""
    d = json.loads(spec)
    args = argparse.Namespace(**d["args"])
    args.data = Path(args.data)
    out = Path(d["out"])
    out.mkdir(parents=True, exist_ok=True)
    fn = {"pretrain": run_pretrain_job, "finetune": run_finetune_job,
          "pipeline": run_pipeline_job}[d["kind"]]
    info = fn(args, d["params"], out)
    (out / "job.json").write_text(json.dumps(info, indent=1))
    return 0


def _spawn(job: Job, args: argparse.Namespace, runs: Path) -> subprocess.Popen[bytes]:
    out = runs / job.kind / job.name
    out.mkdir(parents=True, exist_ok=True)
    spec = json.dumps({"kind": job.kind, "params": job.params, "out": str(out),
                       "args": {"data": str(args.data), "threads": args.threads,
                                "device": args.device, "tiny": args.tiny}})
    log = (out / "stdout.txt").open("wb")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, __file__, "--job", spec], stdout=log,
                            stderr=subprocess.STDOUT, env=env, cwd=REPO)


def schedule(jobs: list[Job], args: argparse.Namespace, runs: Path, deadline: float) -> None:
    """Run ``jobs`` with at most ``args.parallel`` at once, highest priority first; a job starts
    only when its dependencies succeeded and its estimate fits before ``deadline``; jobs still
    running at ``deadline`` are stopped."""
    running: dict[str, tuple[Job, subprocess.Popen[bytes]]] = {}
    by_name = {j.name: j for j in jobs}
    while True:
        now = time.time()
        for name, (job, proc) in list(running.items()):
            rc = proc.poll()
            if rc is None and now >= deadline:
                proc.kill()
                proc.wait()
                rc = -9
                job.state = "stopped"
            if rc is not None:
                job.seconds = now - (job.started or now)
                if job.state != "stopped":
                    job.state = "done" if rc == 0 else "failed"
                logger.info("%-28s %s after %.0f s", job.name, job.state, job.seconds)
                del running[name]
        waiting = sorted((j for j in jobs if j.state == "waiting"), key=lambda j: j.priority)
        for job in waiting:
            if any(by_name[d].state in ("failed", "stopped", "skipped") for d in job.deps):
                job.state = "skipped"
                continue
            if len(running) >= args.parallel:
                break
            if not all(by_name[d].state == "done" for d in job.deps):
                continue
            if job.priority >= 10 and any(w.state == "waiting" and w.priority < 10
                                          for w in jobs):
                continue  # extra full-label seeds only once every first-tier job has started
            if now + job.estimate_s > deadline:
                job.state = "skipped"
                logger.info("%-28s skipped: %.0f s estimated, %.0f s left", job.name,
                            job.estimate_s, deadline - now)
                continue
            job.state, job.started = "running", now
            running[job.name] = (job, _spawn(job, args, runs))
            logger.info("%-28s started (priority %d, ~%.0f s)", job.name, job.priority,
                        job.estimate_s)
        if not running and not any(j.state == "waiting" for j in jobs):
            return
        time.sleep(0.5)


def plan_jobs(args: argparse.Namespace, runs: Path, pretrain_rate: float) -> list[Job]:
    """Seed 0 of every cell first; then more finetuning seeds (20 % labels before 100 %)."""
    pre_steps = args.pretrain_epochs * 15
    # estimates with the GPU shared: pretraining at the probe's rate / 2, a finetuning step
    # ~1/3 of a pretraining step's work (3 instead of 8 encoder passes of the same size)
    pre_est = 30 + pre_steps / max(pretrain_rate / 2, 0.1)
    ft_rate = 2.5 * pretrain_rate / 2

    def ft_est(labels: float) -> float:
        return 45 + args.finetune_epochs * 27 * labels / max(ft_rate, 0.1)

    jobs = [Job(f"{k}-s0", "pretrain", {"kind": k, "seed": 0, "epochs": args.pretrain_epochs},
                0, estimate_s=pre_est) for k in ("snippet", "global")]
    for seed in args.seeds:
        for labels in (1.0, 0.2):
            for pre in ("none", "snippet", "global"):
                params: dict[str, Any] = {"pretrain": pre, "labels": labels, "seed": seed,
                                          "epochs": args.finetune_epochs}
                deps = []
                if pre != "none":
                    deps = [f"{pre}-s0"]  # one pretraining run (seed 0) for every seed
                    params["init"] = str(runs / "pretrain" / f"{pre}-s0" / "pretrain.safetensors")
                if seed == 0 and labels == 1.0 and pre in RELEASE:
                    params["release"] = True
                prio = (0 if seed == 0 else 10 * seed) + (0 if labels == 1.0 else 1)
                if seed > 0 and labels < 1.0:
                    prio = seed  # extra seeds of the cheap 20 % cells come before 100 % ones
                name = f"{pre}__ufusion__{int(labels * 100)}__s{seed}"
                jobs.append(Job(name, "finetune", params, prio, deps, ft_est(labels)))
    if args.tiny:
        for j in jobs:
            j.params["max_steps"] = 2
    return jobs


# --------------------------------------------------------------------------- inference
def localize_figures(args: argparse.Namespace) -> list[dict[str, Any]]:
    """End-to-end ``localize`` of 60 minutes (2 persons, 30 fps) on the device, split into
    preparation (host NumPy vs device torch), the windows, and the rest (decoding, mapping)."""
    import torch
    from bench_inference import random_walk, randomize_batchnorms

    import skelloc
    from skelloc.inference import api
    from skelloc.inference.validate import prepare_input
    from skelloc.skeleton.sequence import SkeletonSequence

    dev = torch.device(args.device)
    minutes = 1 if args.tiny else 60
    seq = SkeletonSequence(random_walk(minutes * 60 * 30, 2), fps=30.0)
    agcn = skelloc.create_model("agcn", num_classes=51, base_channels=4 if args.tiny else 64,
                                head_args={"fusion_dim": 8 if args.tiny else 512}).eval()
    randomize_batchnorms(agcn)
    models = {"stgcn16+ufusion (bundled)": skelloc.load(), "agcn64+ufusion": agcn}
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def clock(fn: Any, reps: int = 3) -> float:
        fn()
        sync()
        times = []
        for _ in range(1 if args.tiny else reps):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    rows = []
    for name, model in models.items():
        model.to(dev)
        spec = model.input_spec
        t_host = clock(lambda s=spec: prepare_input(seq, s))
        t_dev = clock(lambda s=spec: prepare_input(seq, s, device=dev))
        run = api._prepare(seq, model, None, None, "error", dev)
        for precision in ("fp32", "bf16"):
            windows = api.window_config(model, None, None, None, device=dev)
            t_win = clock(lambda m=model, r=run, w=windows, p=precision: api._run_windows(
                m, r, "logits", device=dev, windows=w, precision=p))
            t_all = clock(lambda m=model, p=precision: skelloc.localize(seq, m, precision=p,
                                                                        device=dev))
            rows.append({"model": name, "minutes": minutes, "precision": precision,
                         "seconds": t_all, "prepare_host_s": t_host, "prepare_device_s": t_dev,
                         "windows_s": t_win, "input_frames_per_s": len(seq.joints) / t_all})
            logger.info("localize %s %s: %.3f s (prepare host %.3f / device %.3f, windows %.3f)",
                        name, precision, t_all, t_host, t_dev, t_win)
    return rows


def _bench(args: argparse.Namespace, out: Path, compile_: bool,
           timeout: float | None = None) -> dict[str, Any] | None:
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_inference.py"), "--section", "gpu",
           "--json", str(out), "--repeats", "20", "--gpu-device", args.device]
    if args.tiny:
        cmd.append("--quick")
    if compile_:
        cmd.append("--compile")
    logger.info("%s", " ".join(cmd))
    try:
        rc = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        logger.info("benchmark stopped after %.0f s", timeout)
        return {"stopped_after_s": timeout}
    if rc != 0 or not out.is_file():
        return None
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- main
def _extract(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    found = next(dest.glob("*/dataset.json"))
    return found.parent


def _collect(jobs: list[Job], runs: Path) -> list[dict[str, Any]]:
    out = []
    for j in jobs:
        row: dict[str, Any] = {"name": j.name, "kind": j.kind, "state": j.state,
                               "wall_s": j.seconds,
                               **{k: v for k, v in j.params.items() if k != "init"}}
        info = runs / j.kind / j.name / "job.json"
        if info.is_file():
            row.update(json.loads(info.read_text()))
        out.append(row)
    return out


def _package(out: Path, runs: Path, jobs: list[Job]) -> None:
    """fp16 weights of the release candidates and the snippet encoder; the cells' results."""
    from skelloc.models.localizer import Localizer

    for j in jobs:
        if j.kind == "finetune" and j.params.get("release") and j.state == "done":
            src = runs / "finetune" / j.name / "fp16.safetensors"
            shutil.copy(src, out / f"{RELEASE[j.params['pretrain']]}.fp16.safetensors")
    enc = runs / "pretrain" / "snippet-s0" / "encoder"
    if enc.is_dir():
        Localizer.load(enc).half().save(out / "agcn-snippet-pkummd-encoder.fp16.safetensors")
    with tarfile.open(out / "cells.tar.gz", "w:gz") as tar:
        for j in jobs:
            d = runs / j.kind / j.name
            for name in ("result.json", "frames.npz", "job.json", "log.jsonl", "stdout.txt",
                         "fp16/result.json"):
                if (d / name).is_file():
                    tar.add(d / name, arcname=f"{j.kind}/{j.name}/{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, help="tar.xz of a 15 fps PKU-MMD cache")
    parser.add_argument("--data", type=Path, help="the cache folder (instead of --archive)")
    parser.add_argument("--out", type=Path, help="where the results go (required)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/skelloc-gpu-session"))
    parser.add_argument("--budget", type=float, default=470, help="seconds for everything")
    parser.add_argument("--bench-reserve", type=float, default=70,
                        help="seconds kept for the inference figures after training")
    parser.add_argument("--parallel", type=int, default=5, help="training processes at once")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per process")
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="CPU smoke test, tiny sizes")
    parser.add_argument("--skip-bench", action="store_true",
                        help="training only (the inference figures come from an earlier call)")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        return job_main(args.job)
    if args.out is None or (args.archive is None and args.data is None):
        parser.error("--out and one of --archive / --data are required")
    t_start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=[
        logging.StreamHandler(sys.stdout), logging.FileHandler(args.out / "session.log")])
    if args.tiny:
        args.device = "cpu"
    shutil.rmtree(args.work, ignore_errors=True)
    runs = args.work / "runs"
    if args.data is None:
        args.data = _extract(args.archive, args.work / "data")
    report: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}}

    def save() -> None:
        tmp = args.out / "session.json.tmp"
        tmp.write_text(json.dumps(report, indent=1))
        os.replace(tmp, args.out / "session.json")

    import torch

    report["machine"] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                         "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available()
                         else None, "cpus": os.cpu_count()}
    # 1. pretraining speed, the GPU to itself
    probe = Job("probe", "pretrain", {"kind": "snippet", "seed": 0, "epochs": 30,
                                      "max_steps": 2 if args.tiny else 80}, 0)
    schedule([probe], args, runs, t_start + args.budget)
    probe_info = _collect([probe], runs)[0]
    report["pretrain_probe"] = probe_info
    rate = probe_info.get("steps_per_s") or 5.0
    logger.info("pretraining probe: %s steps/s", probe_info.get("steps_per_s"))
    split = Job("pipeline", "pipeline", {"steps": 2 if args.tiny else 30}, 0)
    schedule([split], args, runs, t_start + args.budget)
    report["pretrain_split"] = _collect([split], runs)[0]
    logger.info("pretraining step split: %s", report["pretrain_split"])
    save()
    # 2. training
    jobs = plan_jobs(args, runs, rate)
    train_deadline = t_start + args.budget - args.bench_reserve
    report["training_deadline_s"] = round(train_deadline - t_start, 1)
    schedule(jobs, args, runs, train_deadline)
    report["jobs"] = _collect(jobs, runs)
    save()
    # 3. inference figures, the GPU to itself
    if not args.skip_bench:
        report["bench_gpu"] = _bench(args, args.work / "bench_gpu.json", compile_=False)
        save()
        try:
            report["localize"] = localize_figures(args)
        except Exception as err:  # noqa: BLE001 - keep what was measured
            logger.exception("localize figures failed")
            report["localize_error"] = repr(err)
        save()
    _package(args.out, runs, jobs)
    left = t_start + args.budget - time.time()
    if left > 100 and not args.tiny and not args.skip_bench:  # compiling can take minutes
        report["bench_gpu_compile"] = _bench(args, args.work / "bench_compile.json", True,
                                             timeout=left - 15)
    report["seconds"] = round(time.time() - t_start, 1)
    save()
    logger.info("session done in %.0f s", report["seconds"])
    for row in report["jobs"]:
        m = row.get("metrics", {})
        logger.info("%-26s %-8s %6s s  avg mAP %s  fp16 %s", row["name"], row["state"],
                    f"{row['wall_s']:.0f}" if row.get("wall_s") else "-",
                    m.get("average_mAP"), row.get("metrics_fp16", {}).get("average_mAP"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
