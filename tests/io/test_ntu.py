"""NTU RGB+D .skeleton reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io import read
from skelloc.io.ntu import parse_ntu_name

FIXTURE = Path(__file__).parent / "fixtures" / "S001C002P003R002A013.skeleton"


def test_keeps_two_most_active_bodies_by_id() -> None:
    seq = read(FIXTURE)
    assert seq.joints.shape == (3, 2, 25, 3) and seq.layout == "ntu25" and seq.fps == 30
    # body ...101 moves 1.0 per frame (most active) -> slot 0 in all 3 frames, x = f + 0.01 j
    np.testing.assert_allclose(seq.joints[:, 0, 4, 0], [0.04, 1.04, 2.04], atol=1e-6)
    # body ...102 (0.1 per frame, frames 2-3) -> slot 1; the static body ...103 is dropped
    np.testing.assert_allclose(seq.joints[1:, 1, 0, 0], [2.1, 2.2], atol=1e-6)
    assert not seq.joints[0, 1].any()
    assert not np.isclose(seq.joints[..., 0], 5.0).any()
    np.testing.assert_allclose(seq.joints[2, 0, 10], [2.10, 1.0, 3.0], atol=1e-6)
    assert seq.meta["num_bodies"] == 3
    assert seq.meta["body_ids"] == ["72057594037931101", "72057594037931102"]
    assert (seq.meta["setup"], seq.meta["camera"], seq.meta["performer"],
            seq.meta["replication"], seq.meta["action"]) == (1, 2, 3, 2, 13)


def test_max_persons_option() -> None:
    seq = read(FIXTURE, max_persons=3)
    np.testing.assert_allclose(seq.joints[:, 2, 0, 0], [5.0, 5.0, 5.0], atol=1e-6)


def test_parse_name() -> None:
    assert parse_ntu_name("S017C003P020R002A120.skeleton") == {
        "setup": 17, "camera": 3, "performer": 20, "replication": 2, "action": 120}
    assert parse_ntu_name("clip.skeleton") == {}


def _lines() -> list[str]:
    return FIXTURE.read_text().splitlines()


@pytest.mark.parametrize("edit, msg, line", [
    (lambda ls: ls[:40], "file ends early", 40),
    (lambda ls: ["x", *ls[1:]], "frame count", 1),
    (lambda ls: [*ls[:4], "25 1 2", *ls[5:]], "12 joint values", 5),
    (lambda ls: [*ls[:3], "20", *ls[4:]], "25 joints", 4),
    (lambda ls: [*ls[:4], ls[4].replace("3.0000", "nan", 1), *ls[5:]], "NaN", 5),
    (lambda ls: [*ls, "junk"], "after the last frame", len(_lines()) + 1),
])
def test_malformed(tmp_path: Path, edit, msg: str, line: int) -> None:  # noqa: ANN001
    bad = tmp_path / "S001C001P001R001A001.skeleton"
    bad.write_text("\n".join(edit(_lines())) + "\n")
    with pytest.raises(SkeletonFormatError, match=msg) as info:
        read(bad)
    assert f"S001C001P001R001A001.skeleton:{line}:" in str(info.value)
