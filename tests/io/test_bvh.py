"""BVH: forward kinematics for any channel order, name mapping to ntu25, malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io import read
from skelloc.io.bvh import map_to_ntu25

FIXTURES = Path(__file__).parent / "fixtures"


def test_forward_kinematics_channel_orders() -> None:
    seq = read(FIXTURES / "chain.bvh", layout=None, scale=1.0)
    assert seq.layout == "bvh" and seq.fps == 30.0
    assert seq.meta["joint_names"] == ["A", "B", "B_end"]
    # worked by hand: root at (1, 2, 3); B's offset (0, 10, 0), end offset (0, 5, 0)
    expected = np.array([
        # frame 0: root Rz(90) -> B at (-9, 2, 3); B Rx(90) -> end (0, 0, 5) further
        [[1, 2, 3], [-9, 2, 3], [-9, 2, 8]],
        # frame 1: root Rx(90) -> B at (1, 2, 13); B Rz(90) then root Rx: end (-5, 0, 0)
        [[1, 2, 3], [1, 2, 13], [-4, 2, 13]],
        # frame 2: root "Zrotation Xrotation" 90/90 = Rz·Rx (Rx·Rz would give (-9, 2, 3))
        [[1, 2, 3], [1, 2, 13], [1, 2, 18]],
    ], dtype=np.float32)
    np.testing.assert_allclose(seq.joints[:, 0], expected, atol=1e-5)


def test_cmu_names_map_to_ntu25_and_fps() -> None:
    seq = read(FIXTURES / "cmu_like.bvh")
    assert seq.layout == "ntu25" and seq.joints.shape == (4, 1, 25, 3)
    assert seq.fps == 120.0  # Frame Time 0.00833333
    src = seq.meta["ntu25_from"]
    assert src[0] == "Hips" and src[4] == "LeftArm" and src[20] == "Spine1"
    assert src[21] == "LeftHandIndex1_end" and src[22] == "LThumb"
    # zero rotations: positions are summed offsets (cm -> m) plus the root translation
    j = seq.joints[:, 0]
    np.testing.assert_allclose(j[:, 0, 0], [0, 1, 2, 3], atol=1e-6)  # hips x moves 1 m/frame
    np.testing.assert_allclose(j[2, 3], [2.0, 0.9 + 0.05 + 0.15 + 0.15 + 0.10 + 0.05 + 0.10, 0],
                               atol=1e-6)  # head
    np.testing.assert_allclose(j[0, 6], [0.05 + 0.12 + 0.25 + 0.25, 0.9 + 0.35 + 0.05, 0],
                               atol=1e-6)  # left wrist = LeftHand
    np.testing.assert_allclose(j[0, 15], [0.10, 0.9 - 0.85, 0.10], atol=1e-6)  # LeftToeBase


def test_fallbacks_and_unmappable() -> None:
    names = ["Hips", "Spine", "Spine1", "Neck", "Head", "LeftArm", "LeftForeArm", "LeftHand",
             "RightArm", "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot",
             "RightUpLeg", "RightLeg", "RightFoot"]  # an SFU-like body without toes/fingers
    idx = map_to_ntu25(names)
    assert names[idx[7]] == "LeftHand" and names[idx[21]] == "LeftHand"  # hand <- wrist
    assert names[idx[15]] == "LeftFoot"
    with pytest.raises(SkeletonFormatError, match="cannot map"):
        map_to_ntu25(["Root", "Thing"])


def _chain_lines() -> list[str]:
    return (FIXTURES / "chain.bvh").read_text().splitlines()


@pytest.mark.parametrize("edit, msg, line", [
    (lambda ls: [*ls[:8], "\t\tCHANNELS 3 Xrotation Yrotation", *ls[9:]], "fewer", 9),
    (lambda ls: [*ls[:8], "\t\tCHANNELS 2 Xrotation Yrotation Zrotation", *ls[9:]], "more", 9),
    (lambda ls: [*ls[:-1], "1 2 3 4"], "9 channel values", 21),
    (lambda ls: ls[:-1], "only 2 motion lines", 20),
    (lambda ls: [*ls[:-1], "1 2 3 90 0 0 nan 0 0"], "NaN", 21),
    (lambda ls: [ls[0], "ROOT A", "{", "OFFSET 0 0"] + ls[5:], "not a number", 4),
    (lambda ls: [x for x in ls if x != "MOTION"], "no MOTION", None),
    (lambda ls: [*ls[:16], "Frames: x", *ls[17:]], "frame count", 17),
])
def test_malformed(tmp_path: Path, edit, msg: str, line: int | None) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.bvh"
    bad.write_text("\n".join(edit(_chain_lines())) + "\n")
    with pytest.raises(SkeletonFormatError, match=msg) as info:
        read(bad, layout=None)
    assert (f"bad.bvh:{line}:" if line else "bad.bvh:") in str(info.value)
