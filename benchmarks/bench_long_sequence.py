"""Long-sequence inference: time and peak memory of ``skelloc.localize`` on hours of skeletons.

Builds a width-16 ST-GCN with the U-shaped fusion head (random weights: the cost does not
depend on the weights), synthesises a random-walk 2-person NTU-25 sequence of the given
length at 30 fps and runs ``predict_frames`` then the paper's proposal decoder. Each length
runs in a fresh subprocess so that its peak RSS (``resource.getrusage``) is its own.

Usage::

    python benchmarks/bench_long_sequence.py                  # 60 minutes (108,000 frames)
    python benchmarks/bench_long_sequence.py --minutes 10 60  # two rows: memory vs length
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / (1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0)


def _synthesise(frames: int, persons: int, seed: int = 0) -> np.ndarray:
    """A random-walk skeleton sequence, built in chunks to keep the peak memory low."""
    rng = np.random.default_rng(seed)
    out = np.empty((frames, persons, 25, 3), dtype=np.float32)
    start = rng.normal(size=(persons, 25, 3)).astype(np.float32)
    chunk = 10_000
    for s in range(0, frames, chunk):
        steps = rng.normal(scale=0.01, size=(min(chunk, frames - s), persons, 25, 3))
        block = start + np.cumsum(steps, axis=0, dtype=np.float32)
        out[s : s + len(block)] = block
        start = block[-1]
    out[..., 2] += 3.0  # in front of the camera
    return out


def run_one(args: argparse.Namespace, minutes: float) -> dict[str, float]:
    import torch

    import skelloc
    from skelloc.inference import api
    from skelloc.inference.decode import decode_proposals
    from skelloc.inference.windowing import plan_windows

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = skelloc.create_model(
        "stgcn", num_classes=args.classes, base_channels=16, head="ufusion"
    ).eval()
    frames = int(round(minutes * 60 * args.fps))
    joints = _synthesise(frames, args.persons)
    rss_before = _peak_rss_mib()

    t0 = time.perf_counter()
    probs = skelloc.predict_frames(
        joints, model, fps=args.fps, window=args.window, overlap=args.overlap,
        batch_size=args.batch_size, device=args.device,
    )
    t1 = time.perf_counter()
    detections = decode_proposals(probs)
    t2 = time.perf_counter()
    windows = len(plan_windows(frames, args.window, args.overlap, align=model.total_stride).starts)
    return {
        "minutes": minutes,
        "frames": frames,
        "windows": windows,
        "predict_s": t1 - t0,
        "decode_s": t2 - t1,
        "frames_per_s": frames / (t1 - t0),
        "realtime_x": frames / args.fps / (t2 - t0),
        "rss_input_mib": rss_before,
        "rss_peak_mib": _peak_rss_mib(),
        "input_mib": joints.nbytes / 2**20,
        "segments": len(detections),
        "threads": torch.get_num_threads(),
        "batch_size": api.window_config(model, args.window, args.overlap, args.batch_size,
                                        device=args.device).batch_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[60.0])
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--persons", type=int, default=2)
    parser.add_argument("--classes", type=int, default=51, help="PKU-MMD has 51")
    parser.add_argument("--window", type=int, default=1024)
    parser.add_argument("--overlap", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="windows per forward pass (default: skelloc's, 2 on CPU, 8 on GPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:  # one measurement, reported as JSON to the parent
        print(json.dumps(run_one(args, args.child)))
        return

    rows = []
    passthrough = list(sys.argv[1:])
    if "--minutes" in passthrough:  # drop the list; each child gets one length
        i = passthrough.index("--minutes")
        j = i + 1
        while j < len(passthrough) and not passthrough[j].startswith("--"):
            j += 1
        passthrough = passthrough[:i] + passthrough[j:]
    for minutes in args.minutes:
        cmd = [sys.executable, os.path.abspath(__file__), *passthrough, "--child", str(minutes)]
        result = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))

    import torch

    print(f"skelloc long-sequence benchmark: ST-GCN (base 16) + U-head, {args.persons} persons, "
          f"{args.fps:g} fps, window {args.window} / overlap {args.overlap}, batch "
          f"{rows[0]['batch_size']}, device {args.device}, {rows[0]['threads']} torch threads")
    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    header = (f"{'minutes':>7} {'frames':>8} {'windows':>7} {'predict s':>9} {'decode s':>8} "
              f"{'frames/s':>8} {'x realtime':>10} {'input MiB':>9} {'RSS before':>10} "
              f"{'peak RSS MiB':>12}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['minutes']:>7g} {r['frames']:>8d} {r['windows']:>7d} {r['predict_s']:>9.1f} "
              f"{r['decode_s']:>8.2f} {r['frames_per_s']:>8.0f} {r['realtime_x']:>10.1f} "
              f"{r['input_mib']:>9.1f} {r['rss_input_mib']:>10.0f} {r['rss_peak_mib']:>12.0f}")


if __name__ == "__main__":
    main()
