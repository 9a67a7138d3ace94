"""Crafted weights files (issue 15 item 6): metadata may not drive allocation, dtypes are checked,
metadata of the wrong type or nesting is a typed IncompatibleWeightsError."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import skelloc
from skelloc.errors import IncompatibleWeightsError
from skelloc.models import create_model
from skelloc.models.localizer import Localizer

LOADERS: list[Callable[[Path], Any]] = [Localizer.load, skelloc.load]


def _saved(tmp_path: Path) -> Path:
    return create_model("stgcn", num_classes=2, base_channels=4).save(tmp_path / "m.safetensors")


def _rewrite_meta(path: Path, key: str, change: Callable[[Any], Any], raw: bool = False) -> None:
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    meta[key] = change(meta[key]) if raw else json.dumps(change(json.loads(meta[key])))
    save_file(tensors, str(path), metadata=meta)


@pytest.mark.parametrize("load", LOADERS)
def test_absurd_model_args_are_refused_before_building(tmp_path: Path, load) -> None:
    path = _saved(tmp_path)

    def widen(cfg: dict) -> dict:
        cfg["model_args"]["base_channels"] = 40000
        return cfg

    _rewrite_meta(path, "skelloc.model_args", widen)
    t0 = time.perf_counter()
    with pytest.raises(IncompatibleWeightsError, match="metadata describes"):
        load(path)
    assert time.perf_counter() - t0 < 5  # nothing of 57 GB was built


@pytest.mark.parametrize("load", LOADERS)
def test_dtype_flipped_in_the_header_is_refused(tmp_path: Path, load) -> None:
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    key = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32")
    header[key]["dtype"] = "I32"  # same byte size, other meaning
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(data[8 + n:]))
    with pytest.raises(IncompatibleWeightsError, match="dtype mismatch"):
        load(path)


@pytest.mark.parametrize("load", LOADERS)
@pytest.mark.parametrize("key, change, match", [
    ("skelloc.labels", lambda v: {"a": 1, "b": 2}, "list of strings"),
    ("skelloc.labels", lambda v: ["only one"], "1 labels for 2 classes"),
    ("skelloc.model_args", lambda v: "[" * 100_000 + "]" * 100_000, "nested|JSON|metadata"),
])
def test_metadata_of_the_wrong_shape(tmp_path: Path, load, key: str, change, match: str) -> None:
    path = _saved(tmp_path)
    _rewrite_meta(path, key, change, raw=key == "skelloc.model_args")
    with pytest.raises(IncompatibleWeightsError, match=match) as info:
        load(path)
    assert info.value.exit_code == 6 and "\n" not in str(info.value)


def test_checkpoints_truncated_or_with_objects_are_exit_6(tmp_path: Path) -> None:
    from skelloc.errors import UnsafeCheckpointError
    from skelloc.train.common import load_encoder_state
    from skelloc.train.runtime import load_checkpoint

    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"model": {"w": torch.zeros(3)}, "optimizer": {}, "step": 1}, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:200])  # killed mid-write by an older version
    with pytest.raises(IncompatibleWeightsError, match="truncated or corrupt") as info:
        load_checkpoint(ckpt)
    assert info.value.exit_code == 6
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(3)}, "x": Path("/")}, evil)  # a non-tensor object
    with pytest.raises(UnsafeCheckpointError, match="nothing was executed") as info2:
        load_encoder_state(evil)
    assert info2.value.exit_code == 6


class _Payload:
    """A pickle payload: unpickling it would run a shell command creating ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, (f"touch {self.marker}",))


def test_no_pickle_payload_executes_on_any_route(tmp_path: Path) -> None:
    from skelloc.errors import UnsafeCheckpointError
    from skelloc.hub.convert.core import convert_checkpoint
    from skelloc.models.weights import read_state_dict
    from skelloc.train.common import load_encoder_state
    from skelloc.train.runtime import load_checkpoint

    marker = tmp_path / "pwned"
    evil = tmp_path / "checkpoint.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "optimizer": {}, "step": 1,
                "x": _Payload(marker)}, evil)
    routes: list[Callable[[], Any]] = [
        lambda: read_state_dict(evil, allow_pickle=True),  # skelloc.load(..., allow_pickle=True)
        lambda: load_checkpoint(evil),  # train --resume
        lambda: load_encoder_state(evil),  # train --init
        lambda: convert_checkpoint("stgcn", evil, tmp_path / "out"),  # skelloc convert
    ]
    for route in routes:
        with pytest.raises(UnsafeCheckpointError, match="nothing was executed"):
            route()
    with pytest.raises(IncompatibleWeightsError):
        Localizer.load(evil)
    with pytest.raises(UnsafeCheckpointError):
        skelloc.load(evil)  # no allow_pickle: refused before reading
    assert not marker.exists()
