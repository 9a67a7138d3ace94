"""A 2-process gloo DDP run of both loops under torchrun (CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from .cachegen import make_cache

SCRIPT = """
import json, sys, torch
import torch.distributed as dist
torch.set_num_threads(1)
from skelloc.train import load_config, run_pretrain, run_finetune
cache, out = sys.argv[1], sys.argv[2]
cfg = load_config("tiny", ["data.path=" + json.dumps(cache), "pretrain.batch_size=2",
                           "pretrain.epochs=2"])
run_pretrain(cfg, out + "/pre")
result = run_finetune(cfg, out + "/ft", init=out + "/pre/pretrain.safetensors")
rank = dist.get_rank()
with open(f"{out}/rank{rank}.json", "w") as fh:
    json.dump({"world": dist.get_world_size(), "has_result": result["last"] is not None}, fh)
"""


@pytest.mark.slow
def test_two_process_gloo_run(tmp_path: Path) -> None:
    cache = make_cache(tmp_path / "cache", splits=["train"] * 4 + ["val"] * 2)
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), str(cache), str(out)],
        capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["has_result"] and not ranks[1]["has_result"]  # rank 0 evaluates
    # 4 windows, 2 per process per step: 1 step per epoch, 2 epochs; the queues receive the
    # keys of both processes (4 per step)
    state = load_file(str(out / "pre" / "pretrain.safetensors"))
    assert int(state["snippet_queue.ptr"]) == 8
    log = [json.loads(x) for x in (out / "pre" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2]
    ft = json.loads((out / "ft" / "metrics.json").read_text())
    assert len(ft["history"]) == 2 and (out / "ft" / "best.safetensors").is_file()
    ft_log = [json.loads(x) for x in (out / "ft" / "log.jsonl").read_text().splitlines()]
    # 4 training videos, batch 2 per process: one step per epoch
    assert [r["step"] for r in ft_log if "loss" in r] == [1, 2]
