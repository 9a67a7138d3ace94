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


def test_character_creator_rig_and_units(tmp_path: Path) -> None:
    seq = read(FIXTURES / "cc_mini.bvh")
    assert seq.layout == "ntu25" and seq.fps == 60.0 and seq.meta["units"] == "cm"
    src = seq.meta["ntu25_from"]
    assert src[0] == "CC_Base_Pelvis" and src[13] == "CC_Base_L_Calf"
    assert src[4] == "CC_Base_L_Upperarm" and src[20] == "CC_Base_NeckTwist01"
    assert src[21] == "CC_Base_L_Mid3_end" and src[24] == "CC_Base_R_Thumb3_end"
    j = seq.joints[0, 0]
    np.testing.assert_allclose(j[13] - j[12], [0, -0.45, 0], atol=1e-6)  # thigh 45 cm
    np.testing.assert_allclose(seq.joints[2, 0, 0, 0], 0.2, atol=1e-6)  # root moved 20 cm
    # the same rig written in metres and in inches is detected; units= and scale= override
    text = (FIXTURES / "cc_mini.bvh").read_text().splitlines()
    for unit, factor in (("m", 0.01), ("in", 1 / 2.54), ("cmu", 0.45 / 2.54)):
        lines = []
        for line in text:
            words = line.split()
            if words and words[0] == "OFFSET":
                line = "OFFSET " + " ".join(f"{float(w) * factor:.6f}" for w in words[1:])
            lines.append(line)
        f = tmp_path / f"{unit}.bvh"
        f.write_text("\n".join(lines) + "\n")
        other = read(f)
        assert other.meta["units"] == unit
        np.testing.assert_allclose(other.joints[0, 0, 13], j[13], atol=1e-5)
    assert read(FIXTURES / "cc_mini.bvh", units="m").joints[0, 0, 3, 1] == pytest.approx(1.5 * 100)
    assert read(FIXTURES / "cc_mini.bvh", scale=0.001).meta["units"] == "given"
    with pytest.raises(SkeletonFormatError, match="units must be"):
        read(FIXTURES / "cc_mini.bvh", units="furlong")


def test_units_that_cannot_be_told(tmp_path: Path) -> None:
    lines = []
    for line in (FIXTURES / "cc_mini.bvh").read_text().splitlines():
        words = line.split()
        if words and words[0] == "OFFSET":
            line = "OFFSET " + " ".join(f"{float(w) * 10:.6f}" for w in words[1:])
        lines.append(line)
    (tmp_path / "giant.bvh").write_text("\n".join(lines) + "\n")
    with pytest.raises(SkeletonFormatError, match="cannot tell the units"):
        read(tmp_path / "giant.bvh")


def test_real_character_creator_file(babel_cmu_root: Path) -> None:
    seq = read(babel_cmu_root / "bvh" / "005_02.bvh")
    assert seq.layout == "ntu25" and seq.fps == 60.0 and seq.meta["units"] == "cm"
    j = seq.joints[:, 0]
    height = np.median(j[:, 3, 1] - np.minimum(j[:, 15, 1], j[:, 19, 1]))
    assert 1.4 < height < 2.0  # metres, head above the toes
