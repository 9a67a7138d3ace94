"""Hypothesis fuzzing of every text parser: valid result or SkeletonFormatError, nothing else."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skelloc.errors import SkeletonFormatError
from skelloc.io import read
from skelloc.io.babel import load_babel
from skelloc.io.pkummd import read_pkummd_labels, read_pkummd_split
from skelloc.io.writers import read_segments_csv

FIXTURES = Path(__file__).parent / "fixtures"
# SKELLOC_FUZZ_EXAMPLES=5000 for a long local run; the suite default stays small and fast
FUZZ = settings(max_examples=int(os.environ.get("SKELLOC_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# (file name, parser, seed content)
_PARSERS: list[tuple[str, Callable[[Path], Any], bytes]] = [
    ("0001-L.txt", lambda p: read(p, format="pkummd"), (FIXTURES / "0001-L.txt").read_bytes()),
    ("labels.txt", read_pkummd_labels, (FIXTURES / "0001-L_labels.txt").read_bytes()),
    ("S001C001P001R001A001.skeleton", read,
     (FIXTURES / "S001C002P003R002A013.skeleton").read_bytes()[:3000]),
    ("x.bvh", lambda p: read(p, layout=None), (FIXTURES / "chain.bvh").read_bytes()),
    ("m.json", lambda p: read(p, format="mmpose"), (FIXTURES / "mmpose_video.json").read_bytes()),
    ("o.json", lambda p: read(p, format="openpose"),
     (FIXTURES / "openpose_clip" / "clip_000000000000_keypoints.json").read_bytes()),
    ("mp.json", lambda p: read(p, format="mediapipe"),
     (FIXTURES / "mediapipe_pose.json").read_bytes()[:2500]),
    ("mp.csv", read, (FIXTURES / "mediapipe_pose.csv").read_bytes()),
    ("b.json", load_babel, (FIXTURES / "babel_mini.json").read_bytes()),
    ("auto.json", read, (FIXTURES / "mmpose_video.json").read_bytes()[:1500]),
    ("split.txt", read_pkummd_split, b"Training videos:\n0001-L, 0002-M\nTest videos:\n0003-R\n"),
    ("seg.csv", read_segments_csv,
     b"video,label,label_id,start,end,start_s,end_s,score\nv,a,0,1,2,0.1,0.2,0.5\n"),
]


def _check(name: str, parser: Callable[[Path], Any], data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            result = parser(path)
        except SkeletonFormatError as err:
            assert name in str(err)  # the message names the file
            return
        joints = getattr(result, "joints", None)
        if joints is not None:
            assert joints.dtype == np.float32 and joints.ndim == 4
            assert np.isfinite(joints).all()


@st.composite
def _mutations(draw: st.DrawFn) -> tuple[int, bytes]:
    k = draw(st.integers(0, len(_PARSERS) - 1))
    seed = _PARSERS[k][2]
    op = draw(st.sampled_from(["truncate", "replace", "insert", "delete_line", "dup_line"]))
    pos = draw(st.integers(0, len(seed)))
    if op == "truncate":
        return k, seed[:pos]
    if op == "replace":
        return k, seed[:pos] + draw(st.binary(min_size=1, max_size=4)) + seed[pos + 1:]
    if op == "insert":
        token = draw(st.sampled_from([b"nan", b"-", b",", b" 1e999", b"{", b"]", b"\x00",
                                      b"\n", b"\"", b"null", b"Site", b"JOINT"]))
        return k, seed[:pos] + token + seed[pos:]
    lines = seed.split(b"\n")
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    if op == "delete_line":
        return k, b"\n".join(lines[:i] + lines[i + 1:])
    return k, b"\n".join(lines[: i + 1] + lines[i:])


@FUZZ
@given(_mutations())
def test_mutated_files_never_crash(case: tuple[int, bytes]) -> None:
    k, data = case
    name, parser, _ = _PARSERS[k]
    _check(name, parser, data)


@FUZZ
@given(st.integers(0, len(_PARSERS) - 1),
       st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_content_never_crashes(k: int, data: bytes) -> None:
    name, parser, _ = _PARSERS[k]
    _check(name, parser, data)


@FUZZ
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32),
                         min_size=0, max_size=151), min_size=0, max_size=3))
def test_pkummd_rows_of_any_width(rows: list[list[float]]) -> None:
    text = "\n".join(" ".join(repr(v) for v in r) for r in rows).encode()
    _check("0009-M.txt", lambda p: read(p, format="pkummd"), text)
