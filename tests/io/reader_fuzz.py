"""The mutation engine behind the reader fuzz tests (``test_fuzz.py``) and the report script
(``benchmarks/fuzz_readers.py``): real seed files of every reader, byte-level mutations, and
the contract every outcome must meet (issue 15):

- only :class:`~skelloc.errors.SkellocError` subclasses escape (a ``SkeletonFormatError``
  names the file, on one line);
- the peak of traced allocations stays under :data:`BUDGET_BYTES` (numpy's buffers are traced);
- a result holds no infinite value (and no NaN, except arrays, where NaN marks a missing joint)
  and no coordinate past the plausible range.
"""

from __future__ import annotations

import io
import math
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import SkeletonFormatError, SkellocError
from skelloc.io import read
from skelloc.io._limits import MAX_ABS_COORDINATE
from skelloc.io.babel import load_babel
from skelloc.io.babel_tal import load_amass_to_babel, load_bt_actions, read_bt_classes
from skelloc.io.pkummd import read_pkummd_labels, read_pkummd_split
from skelloc.io.utkinect import read_utkinect_labels
from skelloc.io.writers import read_segments_csv, read_segments_json
from skelloc.metrics.io import read_instances
from skelloc.skeleton.sequence import SkeletonSequence

FIXTURES = Path(__file__).parent / "fixtures"
BUDGET_BYTES = 64 * 1024**2

__all__ = [
    "BUDGET_BYTES",
    "OPS",
    "READERS",
    "TOKENS",
    "FuzzReader",
    "Outcome",
    "mutate",
    "run_case",
]


@dataclass(frozen=True)
class FuzzReader:
    name: str
    filename: str
    parse: Callable[[Path], Any]
    seed: bytes
    nan_ok: bool = False  # arrays: NaN is the documented "missing" marker


def _npy_seed() -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.save(buf, np.cumsum(rng.normal(scale=0.05, size=(12, 25, 3)), axis=0).astype(np.float32))
    return buf.getvalue()


def _npz_seed(compressed: bool) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    save = np.savez_compressed if compressed else np.savez
    save(buf, joints=rng.normal(size=(10, 2, 25, 3)).astype(np.float32), fps=np.array(25.0),
         layout=np.array("ntu25"))
    return buf.getvalue()


def _pyskl_seed() -> bytes:
    rng = np.random.default_rng(2)
    buf = io.BytesIO()
    np.savez_compressed(buf, keypoint=rng.uniform(0, 640, size=(1, 8, 17, 2)).astype(np.float32),
                        keypoint_score=rng.uniform(size=(1, 8, 17)).astype(np.float32))
    return buf.getvalue()


def _fixture(name: str, limit: int | None = None) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return data if limit is None else data[:limit]


def _utkinect_seed() -> bytes:
    rng = np.random.default_rng(3)
    rows = [" ".join([str(fid)] + [f"{v:.4f}" for v in rng.normal(size=60)])
            for fid in (100, 101, 101, 104, 105)]
    return ("\n".join(rows) + "\n").encode()


_ANET = (b'{"database": {"v1": {"annotations": [{"segment": [0.5, 2.0], "label": "wave"}]}}}')
_SEG_JSON = (b'{"version": "skelloc", "results": {"v": [{"label": "wave", "label_id": 0, '
             b'"segment": [0.1, 0.5], "frames": [3, 15], "score": 0.8}]}}')

READERS: list[FuzzReader] = [
    FuzzReader("npy", "x.npy", read, _npy_seed(), nan_ok=True),
    FuzzReader("npz (deflated)", "x.npz", read, _npz_seed(True), nan_ok=True),
    FuzzReader("npz (stored)", "y.npz", read, _npz_seed(False), nan_ok=True),
    FuzzReader("npz (pyskl)", "p.npz", read, _pyskl_seed(), nan_ok=True),
    FuzzReader("ntu .skeleton", "S001C001P001R001A001.skeleton", read,
               _fixture("S001C002P003R002A013.skeleton")),
    FuzzReader("pkummd skeleton", "0001-L.txt", lambda p: read(p, format="pkummd"),
               _fixture("0001-L.txt")),
    FuzzReader("pkummd labels", "labels.txt", read_pkummd_labels, _fixture("0001-L_labels.txt")),
    FuzzReader("pkummd split", "split.txt", read_pkummd_split,
               b"Training videos:\n0001-L, 0002-M\nTest videos:\n0003-R\n"),
    FuzzReader("utkinect", "joints_s01_e01.txt", lambda p: read(p, format="utkinect"),
               _utkinect_seed()),
    FuzzReader("utkinect labels", "actionLabel.txt", read_utkinect_labels,
               b"s01_e01\nwalk: 252 390\nsitDown: 572 686\ncarry: NaN NaN\n"),
    FuzzReader("babel-tal actions", "BT_action.json", load_bt_actions,
               b'{"train/a-000123.mp4@0": {"subset": "train", "actions": '
               b'[[0, 1.5, 20.0], [3, 10.0, 99.0]]}}'),
    FuzzReader("babel-tal classes", "action_mapping.txt", read_bt_classes,
               b"0 walk\n1 hit_or_punch\n2 kick\n"),
    FuzzReader("babel-tal amass map", "amass_to_babel.json", load_amass_to_babel,
               b'{"CMU/CMU/01/01_01_poses": 123, "KIT/3/walk_poses": 7}'),
    FuzzReader("bvh", "x.bvh", lambda p: read(p, layout=None), _fixture("chain.bvh")),
    FuzzReader("bvh (ntu25)", "c.bvh", read, _fixture("cmu_like.bvh")),
    FuzzReader("bvh (character creator)", "cc.bvh", read, _fixture("cc_mini.bvh")),
    FuzzReader("mmpose", "m.json", lambda p: read(p, format="mmpose"),
               _fixture("mmpose_video.json")),
    FuzzReader("openpose", "o.json", lambda p: read(p, format="openpose"),
               (FIXTURES / "openpose_clip" / "clip_000000000000_keypoints.json").read_bytes()),
    FuzzReader("mediapipe json", "mp.json", lambda p: read(p, format="mediapipe"),
               _fixture("mediapipe_pose.json")),
    FuzzReader("mediapipe csv", "mp.csv", read, _fixture("mediapipe_pose.csv")),
    FuzzReader("json (sniffed)", "auto.json", read, _fixture("mmpose_video.json")),
    FuzzReader("babel", "b.json", load_babel, _fixture("babel_mini.json")),
    FuzzReader("segments csv", "seg.csv", read_segments_csv,
               b"video,label,label_id,start,end,start_s,end_s,score\nv,a,0,1,2,0.1,0.2,0.5\n"),
    FuzzReader("segments json", "seg.json", read_segments_json, _SEG_JSON),
    FuzzReader("evaluate gt json", "gt.json", lambda p: read_instances(p, predictions=False),
               _ANET),
    FuzzReader("evaluate label file", "0002-L.txt",
               lambda p: read_instances(p, predictions=True), b"1,10,20,0.9\n2,30,45,0.5\n"),
]

OPS = ("truncate", "replace", "insert", "delete_line", "dup_line", "flip", "repeat")
TOKENS = (b"nan", b"-", b",", b" 1e999", b"1e39", b"-3e38", b"9999999", b"99999999999", b"-1",
          b"0", b"{", b"]", b"[[[[[[[[[[", b"\x00", b"\n", b'"', b"null", b"Site", b"JOINT",
          b"\xff\xfe", b"\xef\xbb\xbf", b'"x"', "\u00b2".encode(), b"(1000000000, 25, 3)",
          b"inf", b"1e-40")


def mutate(data: bytes, op: str, pos: int, arg: int, token: bytes) -> bytes:
    """One mutation of ``data`` at ``pos`` (``arg`` picks the byte value, line or count)."""
    pos = min(pos, len(data))
    if op == "truncate":
        return data[:pos]
    if op == "replace":
        return data[:pos] + bytes([arg % 256]) + data[pos + 1:]
    if op == "flip":
        if not data:
            return data
        p = pos % len(data)
        return data[:p] + bytes([data[p] ^ (1 << (arg % 8))]) + data[p + 1:]
    if op == "insert":
        return data[:pos] + token + data[pos:]
    if op == "repeat":
        return data[:pos] + token * (1 + arg % 200) + data[pos:]
    lines = data.split(b"\n")
    i = arg % max(1, len(lines))
    if op == "delete_line":
        return b"\n".join(lines[:i] + lines[i + 1:])
    return b"\n".join(lines[: i + 1] + lines[i:])  # dup_line


@dataclass
class Outcome:
    status: str  # "ok" or the SkellocError subclass raised
    peak: int
    seconds: float


def _check_value(value: Any, where: str, nan_ok: bool) -> None:
    if isinstance(value, SkeletonSequence):
        j = value.joints
        assert isinstance(j, np.ndarray) and j.dtype == np.float32 and j.ndim == 4, where
        assert not np.isinf(j).any(), f"{where}: infinite coordinate"
        assert nan_ok or not np.isnan(j).any(), f"{where}: NaN coordinate"
        finite = j[np.isfinite(j)]
        assert finite.size == 0 or np.abs(finite).max() < MAX_ABS_COORDINATE, where
        assert math.isfinite(value.fps) and value.fps > 0, f"{where}: fps {value.fps}"
    elif isinstance(value, float):
        assert math.isfinite(value), f"{where}: non-finite number"
    elif isinstance(value, dict):
        for v in value.values():
            _check_value(v, where, nan_ok)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_value(v, where, nan_ok)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            _check_value(getattr(value, f.name), where, nan_ok)


def run_case(reader: FuzzReader, data: bytes, folder: Path) -> Outcome:
    """Parse ``data`` as ``reader`` and check the contract; AssertionError on a violation."""
    path = folder / reader.filename
    path.write_bytes(data)
    status = "ok"
    result: Any = None
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no overflow warnings on stderr
            result = reader.parse(path)
    except SkellocError as err:
        status = type(err).__name__
        message = str(err)
        assert "\n" not in message.strip(), f"{reader.name}: multi-line message {message!r}"
        if isinstance(err, SkeletonFormatError):
            assert reader.filename in message, f"{reader.name}: message lacks the file name"
    except Exception as err:
        raise AssertionError(f"{reader.name}: untyped {type(err).__name__}: {err}") from err
    finally:
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= BUDGET_BYTES, f"{reader.name}: peak allocation {peak} bytes"
    if result is not None:
        _check_value(result, reader.name, reader.nan_ok)
    return Outcome(status, peak, seconds)
