"""Inference speed and memory: the network, the end-to-end API, long sequences, model loading.

Sections (all by default; ``--section`` picks some):

* ``network``: frames per second of one forward pass, skelloc's inference form (BatchNorms
  folded, graph precomputed, channels-last; :mod:`skelloc.models.fuse`) against a plain
  reference at identical weights, with the speed ratio and the maximum absolute output
  difference. The ST-GCN reference is the original block structure written out in
  ``_reference_stgcn.py``; for 2s-AGCN and UNIK it is skelloc's unfused module (the original
  block structure). Batch sizes, T, M and thread counts vary.
* ``profile``: self CPU time per operator, reference vs inference form, for one window.
* ``pipeline``: ``skelloc.localize`` / ``skelloc.extract_features`` on a 10-minute sequence
  (M = 1 and 2, 1 and 2 threads), inference form on and off (``fuse=False``).
* ``decode``: the two decoders on an hour of the bundled model's probabilities for real
  skeletons (the quickstart clip, repeated).
* ``long``: ``skelloc.localize`` on 1, 8 and 64 minutes of 2-person skeletons, each in a fresh
  process so that its peak RSS is its own.
* ``load``: in a fresh process, the imports (torch, ``skelloc.hub.api``), then
  ``skelloc.load()`` of the bundled default and of a Hub model already in the cache, with a
  local HTTP server standing in for the Hub that counts the requests it gets.
* ``gpu``: with CUDA, the full-width 2s-AGCN + U-head batched, fp32 and bf16, with peak CUDA
  memory.

Usage::

    python benchmarks/bench_inference.py                    # everything, a few minutes
    python benchmarks/bench_inference.py --section network --threads 2
    python benchmarks/bench_inference.py --section network --compile   # + torch.compile
    python benchmarks/bench_inference.py --quick            # tiny sizes: checks it runs (CI)
    python benchmarks/bench_inference.py --json out.json    # also write the rows as JSON
    python benchmarks/bench_inference.py --report out.json  # Markdown tables of a JSON file

Inputs are random-walk skeletons (the cost does not depend on the values); the default model's
weights are the bundled ``stgcn16-scratch-pkummd``, the other networks have random weights and
random BatchNorm statistics (so the folding is exercised).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


# --------------------------------------------------------------------------- helpers
def peak_rss_mib() -> float:
    """This process's peak resident set size. ``VmHWM`` where Linux has it: ``ru_maxrss`` of
    a child started by a large parent reports the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def random_walk(frames: int, persons: int, seed: int = 0) -> np.ndarray:
    """``(T, M, 25, 3)`` float32 random-walk skeletons, built in chunks (low peak memory)."""
    rng = np.random.default_rng(seed)
    out = np.empty((frames, persons, 25, 3), dtype=np.float32)
    start = rng.normal(size=(persons, 25, 3)).astype(np.float32)
    for s in range(0, frames, 10_000):
        steps = rng.normal(scale=0.01, size=(min(10_000, frames - s), persons, 25, 3))
        block = start + np.cumsum(steps, axis=0, dtype=np.float32)
        out[s : s + len(block)] = block
        start = block[-1]
    out[..., 2] += 3.0
    return out


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Alternate the candidates so that background load hits all of them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def randomize_batchnorms(model: Any, seed: int = 0) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) * 0.2 - 0.1)


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpu": cpu,
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


# --------------------------------------------------------------------------- network
def _network_models(quick: bool) -> list[tuple[str, Any, Any]]:
    """(label, optimised model, reference model) at identical weights."""
    import torch
    from _reference_stgcn import reference_for

    import skelloc
    from skelloc.models.fuse import fuse_for_inference

    out = []
    default = skelloc.load()
    out.append(("stgcn16+ufusion (bundled)", fuse_for_inference(default), reference_for(default)))
    if quick:
        return out
    torch.manual_seed(0)
    full = skelloc.create_model("stgcn", num_classes=51, base_channels=64).eval()
    randomize_batchnorms(full)
    out.append(("stgcn64+ufusion", fuse_for_inference(full), reference_for(full)))
    for arch in ("agcn", "unik"):
        m = skelloc.create_model(arch, num_classes=51, base_channels=64).eval()
        randomize_batchnorms(m)
        out.append((f"{arch}64+ufusion", fuse_for_inference(m), m))
    return out


def bench_network(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    rows = []
    if args.quick:
        grid = [(1, 64, 2, t) for t in args.threads]
    else:
        grid = [(n, 1024, m, t) for t in args.threads for m in (1, 2) for n in (1, 2, 4)]
        grid += [(2, 256, 2, t) for t in args.threads]
    for label, fused, ref in _network_models(args.quick):
        for batch, T, M, threads in grid:
            if not label.startswith("stgcn16") and (M == 1 or batch == 4 or T == 256):
                continue  # the full grid for the default model; one row set for the others
            torch.set_num_threads(threads)
            x = torch.from_numpy(random_walk(batch * T, M).reshape(batch, T, M, 25, 3))
            x = x.permute(0, 4, 1, 3, 2).contiguous()  # (N, C, T, V, M)
            with torch.inference_mode():
                diff = float((fused(x) - ref(x)).abs().max())
                scale = float(ref(x).abs().max())
                times = interleaved({"ref": lambda: ref(x), "opt": lambda: fused(x)},
                                    args.repeats)
            t_ref, t_opt = statistics.median(times["ref"]), statistics.median(times["opt"])
            rows.append({
                "model": label, "batch": batch, "T": T, "M": M, "threads": threads,
                "ref_fps": batch * T / t_ref, "opt_fps": batch * T / t_opt,
                "speedup": t_ref / t_opt, "max_abs_diff": diff, "max_abs_output": scale,
            })
            if args.compile and label.startswith("stgcn16") and (batch, M) == (1, 2):
                rows[-1].update(_compiled(fused, x, args.repeats, t_opt))
            print(f"  {label:26s} N={batch} T={T:4d} M={M} threads={threads}: "
                  f"reference {rows[-1]['ref_fps']:8.0f} fps, skelloc {rows[-1]['opt_fps']:8.0f} "
                  f"fps, x{rows[-1]['speedup']:.2f}, max |diff| {diff:.1e}", flush=True)
    return rows


def _compiled(fused: Any, x: Any, repeats: int, t_opt: float) -> dict[str, float]:
    """``torch.compile`` of the inference form (static shapes): compile time and speed."""
    import torch

    t0 = time.perf_counter()
    compiled = torch.compile(fused, dynamic=False)
    with torch.inference_mode():
        out = compiled(x)
        compile_s = time.perf_counter() - t0
        diff = float((out - fused(x)).abs().max())
        t = statistics.median(timed(lambda: compiled(x), repeats))
    n, T = x.shape[0], x.shape[2]
    print(f"    torch.compile: {compile_s:.1f} s to compile, {n * T / t:8.0f} fps "
          f"(x{t_opt / t:.2f} over the inference form), max |diff| {diff:.1e}", flush=True)
    return {"compile_s": compile_s, "compiled_fps": n * T / t, "compiled_diff": diff}


# --------------------------------------------------------------------------- profile
def bench_profile(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Where the time goes: self CPU time per operator kind, reference vs inference form, for
    one window (N=1, T=1024, M=2) of the bundled model."""
    import torch
    from _reference_stgcn import reference_for
    from torch.profiler import ProfilerActivity, profile

    import skelloc
    from skelloc.models.fuse import fuse_for_inference

    model = skelloc.load()
    T = 64 if args.quick else 1024
    x = torch.from_numpy(random_walk(T, 2)).permute(3, 0, 2, 1)[None].contiguous()
    rows = []
    torch.set_num_threads(max(args.threads))
    for label, net in (("reference", reference_for(model)),
                       ("inference form", fuse_for_inference(model))):
        with torch.inference_mode():
            for _ in range(2):
                net(x)
            with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
                for _ in range(args.repeats):
                    net(x)
        total = 0.0
        kinds: dict[str, float] = {}
        for evt in prof.key_averages(group_by_input_shape=True):
            us = evt.self_cpu_time_total / args.repeats
            total += us
            kind = _op_kind(evt.key, evt.input_shapes)
            kinds[kind] = kinds.get(kind, 0.0) + us
        top = sorted(kinds.items(), key=lambda kv: -kv[1])
        rows.append({"network": label, "ms_per_window": total / 1000,
                     "top_ops": {k: v / 1000 for k, v in top}})
        print(f"  {label:15s} {total / 1000:6.1f} ms per window (profiled): " + ", ".join(
            f"{k} {v / 1000:.1f} ms ({100 * v / total:.0f}%)" for k, v in top), flush=True)
    return rows


def _op_kind(name: str, shapes: list[Any]) -> str:
    """Group profiler operators: temporal convs (k×1 kernels, the same work in both networks),
    other convs (1×1, graph mixing, head), graph products, copies, everything else."""
    if "conv" in name:
        weight = shapes[1] if len(shapes) > 1 else []
        if len(weight) == 4 and weight[2] > 1 and weight[3] == 1:
            return "temporal conv"
        return "other conv"
    if name in ("aten::bmm", "aten::mm", "aten::matmul", "aten::einsum", "aten::addmm"):
        return "graph matmul"
    if name in ("aten::copy_", "aten::contiguous", "aten::clone"):
        return "copies"
    return "elementwise"


# --------------------------------------------------------------------------- pipeline
def bench_pipeline(args: argparse.Namespace) -> list[dict[str, Any]]:
    """End to end on a 10-minute, 30 fps sequence (the model runs at 15 fps: 9,000 frames in
    12 windows of 1,024 overlapping by 256)."""
    import torch

    import skelloc

    model = skelloc.load()
    minutes = 0.2 if args.quick else 10.0
    repeats = 1 if args.quick else max(2, args.repeats // 2)
    rows = []

    def record(**row: Any) -> None:
        rows.append(row)
        print(f"  {row['model']:26s} {row['function']:16s} {row['minutes']:g} min M={row['M']} "
              f"threads={row['threads']} "
              f"batch={row['batch_size']}: {row['seconds']:.2f} s "
              f"({row['fps']:,.0f} input frames/s; unfused {row['unfused_seconds']:.2f} s, "
              f"x{row['speedup']:.2f})", flush=True)

    for threads in args.threads:
        torch.set_num_threads(threads)
        for M in ((2,) if args.quick else (1, 2)):
            joints = random_walk(int(minutes * 60 * 30), M)
            for fn_name in ("localize", "extract_features"):
                fn = getattr(skelloc, fn_name)
                for batch in ((1,) if args.quick or M == 1 else (1, 2, 4)):
                    times = interleaved({
                        "opt": lambda: fn(joints, model, fps=30, batch_size=batch),
                        "ref": lambda: fn(joints, model, fps=30, batch_size=batch, fuse=False),
                    }, repeats)
                    t_opt, t_ref = statistics.median(times["opt"]), statistics.median(times["ref"])
                    record(function=fn_name, minutes=minutes, M=M, threads=threads,
                           batch_size=batch, seconds=t_opt, unfused_seconds=t_ref,
                           fps=len(joints) / t_opt, speedup=t_ref / t_opt,
                           model="stgcn16+ufusion (bundled)")
    if args.quick:
        return rows
    # the other backbones at full width (random weights, input at 30 fps), 2 minutes
    torch.set_num_threads(max(args.threads))
    joints = random_walk(2 * 60 * 30, 2)
    for arch in ("stgcn", "agcn", "unik"):
        torch.manual_seed(0)
        net = skelloc.create_model(arch, num_classes=51, base_channels=64).eval()
        randomize_batchnorms(net)
        for fn_name in ("localize", "extract_features"):
            fn = getattr(skelloc, fn_name)
            times = interleaved({"opt": lambda: fn(joints, net, fps=30),
                                 "ref": lambda: fn(joints, net, fps=30, fuse=False)}, 1)
            t_opt, t_ref = times["opt"][0], times["ref"][0]
            record(function=fn_name, minutes=2.0, M=2, threads=max(args.threads),
                   batch_size=1, seconds=t_opt, unfused_seconds=t_ref,
                   fps=len(joints) / t_opt, speedup=t_ref / t_opt, model=f"{arch}64+ufusion")
    return rows


# --------------------------------------------------------------------------- decoding
def bench_decode(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The decoders on realistic probabilities: the bundled model's output on the quickstart
    clip (examples/, real PKU-MMD skeletons) repeated to an hour, at the model's 15 fps."""
    import skelloc
    from skelloc.inference.decode import decode_argmax, decode_proposals

    clip = skelloc.read(HERE.parent / "examples" / "pkummd_0015-L_clip.npy")
    minutes = 1.0 if args.quick else 60.0
    reps = max(1, round(minutes * 60 * clip.fps / clip.num_frames))
    joints = np.concatenate([clip.joints] * reps)
    probs = skelloc.predict_frames(joints, fps=clip.fps)[::2]  # ~ the model's 15 fps
    rows = []
    for name, fn in (("proposals", decode_proposals), ("argmax", decode_argmax)):
        t = statistics.median(timed(lambda fn=fn: fn(probs), 1 if args.quick else 3))
        n = len(fn(probs))
        rows.append({"decoder": name, "minutes": len(joints) / clip.fps / 60,
                     "frames": len(probs), "seconds": t, "segments": n})
        print(f"  {name:9s} on {rows[-1]['minutes']:.0f} min ({len(probs):,} frames at 15 fps, "
              f"{probs.shape[1]} classes): {t * 1000:.0f} ms, {n} segments", flush=True)
    return rows


# --------------------------------------------------------------------------- long sequences
def _long_child(minutes: float, threads: int) -> dict[str, Any]:
    import torch

    import skelloc

    torch.set_num_threads(threads)
    model = skelloc.load()
    joints = random_walk(int(round(minutes * 60 * 30)), 2)
    rss_input = peak_rss_mib()
    t0 = time.perf_counter()
    segments = skelloc.localize(joints, model, fps=30)
    seconds = time.perf_counter() - t0
    return {"minutes": minutes, "frames": len(joints), "seconds": seconds,
            "fps": len(joints) / seconds, "segments": len(segments),
            "input_mib": joints.nbytes / 2**20, "rss_after_input_mib": rss_input,
            "peak_rss_mib": peak_rss_mib(), "threads": threads}


def bench_long(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for minutes in ((0.1, 0.2) if args.quick else (1.0, 8.0, 64.0)):
        cmd = [sys.executable, __file__, "--child-long", str(minutes),
               "--threads", str(max(args.threads))]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"  {r['minutes']:5g} min ({r['frames']:,} frames): {r['seconds']:6.2f} s, "
              f"{r['fps']:,.0f} frames/s, {r['seconds'] / r['minutes']:.3f} s per minute, "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB (input {r['input_mib']:.0f} MiB)",
              flush=True)
    return rows


# --------------------------------------------------------------------------- loading
_LOAD_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch, skelloc, skelloc.hub.api  # what the first skelloc.load() call imports
t1 = time.perf_counter()
m = skelloc.load(sys.argv[1]) if sys.argv[1] != "-" else skelloc.load()
t2 = time.perf_counter()
m = skelloc.load(sys.argv[1]) if sys.argv[1] != "-" else skelloc.load()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "second_load_s": t3 - t2}))
"""

_COMMIT = "5e1f0c0ffee0ddba11ab1e5eedcafe0123456789"


def _hub_server(files: dict[str, bytes]) -> tuple[Any, list[str]]:
    """A minimal stand-in for the Hub on 127.0.0.1: HEAD/GET ``/{repo}/resolve/{rev}/{file}``
    with ``X-Repo-Commit``, a sha256 ``ETag`` and ``Content-Length``; logs every request."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    log: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: Any) -> None:
            pass

        def _serve(self) -> None:
            log.append(f"{self.command} {self.path}")
            data = files.get(self.path.rsplit("/", 1)[-1])
            if data is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("X-Repo-Commit", _COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(data)

        do_GET = do_HEAD = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, log


def bench_load(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The bundled default; then the same weights published on a local stand-in Hub, loaded
    once (download into the cache) and again from the cache in a fresh process."""
    from skelloc.hub.manifest import packaged_manifest_path

    packaged = json.loads(packaged_manifest_path().read_text())  # type: ignore[union-attr]
    name = packaged["default"]
    entry = dict(packaged["models"][name])
    from importlib import resources

    files = {f["filename"]: resources.files("skelloc").joinpath("weights", f["filename"])
             .read_bytes() for f in entry["files"].values()}
    entry["files"] = {role: {**f, "source": "hub"} for role, f in entry["files"].items()}
    entry["hub"] = {"repo_id": "bench/stgcn16", "revision": _COMMIT}
    entry["aliases"] = []
    rows = []
    server, log = _hub_server(files)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        manifest = {k: v for k, v in packaged.items()
                    if k not in ("models", "default", "default_2d")}  # defaults name bundled models
        manifest["models"] = {"bench-remote": entry}
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        env = {**os.environ, "SKELLOC_CACHE": str(tmp / "cache"),
               "SKELLOC_MANIFEST": str(tmp / "manifest.json"),
               "SKELLOC_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}"}
        for label, model, child_env in (("bundled default", "-", dict(os.environ)),
                                         ("hub, first use (download)", "bench-remote", env),
                                         ("hub, cached", "bench-remote", env)):
            before = len(log)
            proc = subprocess.run([sys.executable, "-c", _LOAD_CHILD, model],
                                  capture_output=True, text=True, env=child_env)
            if proc.returncode != 0:  # show the child's error, not just its exit status
                raise SystemExit(f"load section, {label}: the child process failed:\n"
                                 f"{proc.stderr.strip()}")
            out = proc.stdout
            r = json.loads(out.strip().splitlines()[-1])
            r.update(model=label, requests=len(log) - before)
            rows.append(r)
            print(f"  {label:26s}: import {r['import_s']:.2f} s, load {r['load_s']:.3f} s "
                  f"(again in-process {r['second_load_s']:.3f} s), {r['requests']} HTTP "
                  "requests", flush=True)
    server.shutdown()
    return rows


# --------------------------------------------------------------------------- GPU
def _gpu_variants(fused: Any, compile_: bool) -> dict[str, tuple[Any, Any, Any]]:
    """name -> (module, input dtype, autocast dtype or None) for the GPU network table."""
    import copy

    import torch

    variants: dict[str, tuple[Any, Any, Any]] = {
        "fp32": (fused, torch.float32, None),
        "bf16 autocast": (fused, torch.float32, torch.bfloat16),
        "bf16 weights": (copy.deepcopy(fused).to(torch.bfloat16), torch.bfloat16, None),
    }
    # channels-last does not apply: 2s-AGCN's graph contraction views activations as
    # (N, C·T, V), which needs the NCHW layout (the view fails on channels-last tensors)
    if compile_:
        variants["bf16 weights, torch.compile + CUDA graphs"] = (
            torch.compile(variants["bf16 weights"][0], mode="reduce-overhead"), torch.bfloat16,
            None)
    return variants


def bench_gpu(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The full-width 2s-AGCN + U-head on CUDA: fp32, bf16 (autocast or bf16 weights),
    channels-last and, with ``--compile``, ``torch.compile`` (its compile time reported) and
    CUDA graphs; frames/s from CUDA events (median of ``--repeats``)."""
    import torch

    import skelloc
    from skelloc.models.fuse import fuse_for_inference

    dev = torch.device(args.gpu_device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print("  no CUDA device: skipped")
        return []
    cuda = dev.type == "cuda"
    torch.backends.cudnn.benchmark = True
    rows = []
    model = skelloc.create_model("agcn", num_classes=51, base_channels=64).eval().to(dev)
    randomize_batchnorms(model)
    fused = fuse_for_inference(model)
    T = 1024
    with torch.inference_mode():
        variants = _gpu_variants(fused, args.compile)
        ref = None
        for batch in ((8, 32) if cuda else (1,)):
            T = T if cuda else 32
            x32 = torch.randn(batch, 3, T, 25, 2, device=dev)
            ref = fused(x32).float()
            for name, (net, in_dtype, amp) in variants.items():
                if "compile" in name and batch != 32 and cuda:
                    continue  # one shape compiled: compilation is paid per shape
                x = x32.to(in_dtype)

                def run(net: Any = net, x: Any = x, amp: Any = amp) -> Any:
                    with torch.autocast(dev.type, amp or torch.bfloat16, enabled=amp is not None):
                        return net(x)

                sync = torch.cuda.synchronize if cuda else (lambda: None)
                sync()
                t0 = time.perf_counter()
                try:
                    out = run().float()  # first call: compilation, cuDNN autotuning
                except Exception as err:  # noqa: BLE001 - a variant that fails is reported
                    print(f"  agcn64 N={batch} {name}: failed ({type(err).__name__}: "
                          f"{str(err)[:200]})", flush=True)
                    continue
                sync()
                first_s = time.perf_counter() - t0
                for _ in range(3 if cuda else 0):
                    run()
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                times = []
                for _ in range(max(args.repeats, 5) if cuda else 1):
                    if not cuda:
                        times += timed(run, 1, warmup=0)
                        continue
                    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    a.record()
                    run()
                    b.record()
                    b.synchronize()
                    times.append(a.elapsed_time(b) / 1000)
                t = statistics.median(times)
                rel = float((out - ref).norm() / ref.norm())
                rows.append({"model": "agcn64+ufusion", "batch": batch, "T": T,
                             "precision": name, "fps": batch * T / t, "first_call_s": first_s,
                             "rel_err_vs_fp32": rel,
                             "peak_cuda_mib": torch.cuda.max_memory_allocated() / 2**20
                             if cuda else 0.0})
                print(f"  agcn64 N={batch} T={T} {name}: {batch * T / t:,.0f} frames/s, first "
                      f"call {first_s:.1f} s, rel. error {rel:.1e}, "
                      f"peak {rows[-1]['peak_cuda_mib']:.0f} MiB", flush=True)
    return rows


# --------------------------------------------------------------------------- report
def report(results: dict[str, Any]) -> str:
    """Markdown tables of a ``--json`` results file (docs/PERFORMANCE.md embeds them)."""
    out: list[str] = []
    m = results.get("machine", {})
    out.append(f"Machine: {m.get('cpu')}, {m.get('cpus')} CPUs, Python {m.get('python')}, "
               f"torch {m.get('torch')}" + (f", GPU {m['gpu']}" if m.get("gpu") else "") + ".")
    if results.get("network"):
        out += ["", "| network | N | T | M | threads | reference fps | skelloc fps | speed-up "
                "| max \\|diff\\| |", "|---|---|---|---|---|---|---|---|---|"]
        for r in results["network"]:
            out.append(f"| {r['model']} | {r['batch']} | {r['T']} | {r['M']} | {r['threads']} | "
                       f"{r['ref_fps']:,.0f} | {r['opt_fps']:,.0f} | {r['speedup']:.2f}x | "
                       f"{r['max_abs_diff']:.1e} |")
        comp = [r for r in results["network"] if "compile_s" in r]
        for r in comp:
            out.append(f"\n`torch.compile` of the inference form ({r['model']}, N={r['batch']}, "
                       f"T={r['T']}, M={r['M']}, {r['threads']} threads): "
                       f"{r['compiled_fps']:,.0f} fps against {r['opt_fps']:,.0f}, after "
                       f"{r['compile_s']:.0f} s of compilation.")
    if results.get("profile"):
        out += ["", "| one window, profiled | ms | largest operators (ms) |", "|---|---|---|"]
        for r in results["profile"]:
            ops = ", ".join(f"{k.replace('aten::', '')} {v:.1f}" for k, v in r["top_ops"].items())
            out.append(f"| {r['network']} | {r['ms_per_window']:.1f} | {ops} |")
    if results.get("pipeline"):
        out += ["", "| model | function | minutes | M | threads | batch | seconds | "
                "input frames/s | unfused s | speed-up |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in results["pipeline"]:
            out.append(f"| {r.get('model', 'stgcn16+ufusion (bundled)')} | {r['function']} | "
                       f"{r['minutes']:g} | {r['M']} | {r['threads']} | "
                       f"{r['batch_size']} | {r['seconds']:.2f} | {r['fps']:,.0f} | "
                       f"{r['unfused_seconds']:.2f} | {r['speedup']:.2f}x |")
    if results.get("decode"):
        out += ["", "| decoder | minutes | frames (15 fps) | ms | segments |", "|---|---|---|---|---|"]
        for r in results["decode"]:
            out.append(f"| {r['decoder']} | {r['minutes']:.0f} | {r['frames']:,} | "
                       f"{r['seconds'] * 1000:.0f} | {r['segments']} |")
    if results.get("long"):
        out += ["", "| minutes | frames | seconds | s per minute | peak RSS MiB | input MiB |",
                "|---|---|---|---|---|---|"]
        for r in results["long"]:
            out.append(f"| {r['minutes']:g} | {r['frames']:,} | {r['seconds']:.2f} | "
                       f"{r['seconds'] / r['minutes']:.3f} | {r['peak_rss_mib']:.0f} | "
                       f"{r['input_mib']:.0f} |")
    if results.get("load"):
        out += ["", "| `skelloc.load` in a fresh process | imports s | load s | again s | "
                "HTTP requests |", "|---|---|---|---|---|"]
        for r in results["load"]:
            out.append(f"| {r['model']} | {r['import_s']:.2f} | {r['load_s']:.3f} | "
                       f"{r['second_load_s']:.3f} | {r['requests']} |")
    if results.get("gpu"):
        out += ["", "| GPU network | N | T | precision | fps | first call s | rel. error "
                "vs fp32 | peak CUDA MiB |", "|---|---|---|---|---|---|---|---|"]
        for r in results["gpu"]:
            out.append(f"| {r['model']} | {r['batch']} | {r['T']} | {r['precision']} | "
                       f"{r['fps']:,.0f} | {r.get('first_call_s', 0):.1f} | "
                       f"{r.get('rel_err_vs_fp32', 0):.1e} | {r['peak_cuda_mib']:.0f} |")
    return "\n".join(out) + "\n"


SECTIONS = {"network": bench_network, "profile": bench_profile, "pipeline": bench_pipeline,
            "decode": bench_decode, "long": bench_long, "load": bench_load, "gpu": bench_gpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", nargs="+", choices=sorted(SECTIONS), default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="torch thread counts (default: 1 and all cores)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--compile", action="store_true",
                        help="network: also time torch.compile of the inference form")
    parser.add_argument("--json", type=Path, help="write every row here as JSON")
    parser.add_argument("--gpu-device", default="cuda",
                        help="device of the gpu section (cpu: a smoke test of its code)")
    parser.add_argument("--report", type=Path,
                        help="print Markdown tables of a --json results file and exit")
    parser.add_argument("--child-long", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.report is not None:
        print(report(json.loads(args.report.read_text())), end="")
        return
    if args.child_long is not None:
        print(json.dumps(_long_child(args.child_long, args.threads[0])))
        return
    import torch

    if args.threads is None:
        args.threads = sorted({1, torch.get_num_threads()})
    if args.quick:
        args.repeats = 1
    sections = args.section or list(SECTIONS)
    info = machine()
    print("skelloc inference benchmark:", ", ".join(f"{k} {v}" for k, v in info.items()))
    results: dict[str, Any] = {"machine": info, "quick": args.quick}
    for name in sections:
        print(f"[{name}]", flush=True)
        results[name] = SECTIONS[name](args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
