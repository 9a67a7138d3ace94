"""Layouts: edge lists against the upstream tables, trees, aliases and the registry."""

from __future__ import annotations

import pytest

from skelloc.errors import ConfigError
from skelloc.skeleton import Layout, get_layout, layouts, list_layouts, register_layout


def _one_based_edges(name: str) -> set[tuple[int, int]]:
    return {(a + 1, b + 1) for a, b in get_layout(name).edges}


def test_builtin_names_and_sizes() -> None:
    sizes = {"ntu25": 25, "ntu25_pyskl": 25, "coco17": 17, "openpose18": 18, "body25": 25,
             "mediapipe33": 33}
    assert set(sizes) <= set(list_layouts())
    for name, v in sizes.items():
        lay = get_layout(name)
        assert lay.num_joints == v == len(lay.parents)
        # every built-in graph is a tree rooted at its centre
        assert len(lay.edges) == v - 1
        assert [j for j, p in enumerate(lay.parents) if p < 0] == [lay.center]
        assert set(lay.bones) == set(lay.edges)


def test_ntu25_is_the_original_stgcn_graph() -> None:
    edges = _one_based_edges("ntu25")
    # hands chained, field.md essentials 2 / §1.1
    assert {(22, 23), (23, 8), (24, 25), (25, 12)} <= edges
    assert (22, 8) not in edges and (24, 12) not in edges
    assert {(1, 2), (2, 21), (3, 21), (4, 3), (13, 1), (17, 1), (20, 19)} <= edges
    lay = get_layout("ntu25")
    assert lay.center == 20 and lay.joint_names[20] == "spine_shoulder"
    assert lay.joint_names[8] == "right_shoulder" and lay.joint_names[4] == "left_shoulder"
    assert lay.parents[21] == 22 and lay.parents[22] == 7  # tip -> thumb -> hand


def test_ntu25_pyskl_attaches_hands() -> None:
    edges = _one_based_edges("ntu25_pyskl")
    assert {(22, 8), (23, 8), (24, 12), (25, 12)} <= edges
    assert (22, 23) not in edges
    assert get_layout("nturgb+d").name == "ntu25_pyskl"


def test_openpose18_and_coco17_edges() -> None:
    op = get_layout("openpose18")
    assert op.center == 1 and op.joint_names[1] == "neck"
    assert (11, 5) in op.edges and (8, 2) in op.edges and (17, 15) in op.edges
    coco = get_layout("coco17")
    assert coco.center == 0
    # no shoulder-shoulder or hip-hip edges; hips hang off shoulders
    assert (11, 5) in coco.edges and (12, 6) in coco.edges
    pairs = {frozenset(e) for e in coco.edges}
    assert frozenset((5, 6)) not in pairs and frozenset((11, 12)) not in pairs


def test_flip_pairs_map_left_to_right_names() -> None:
    for name in list_layouts():
        lay = get_layout(name)
        perm = lay.flip_index
        assert sorted(perm) == list(range(lay.num_joints))
        assert all(perm[perm[i]] == i for i in range(lay.num_joints))
        for a, b in lay.flip_pairs:
            na, nb = lay.joint_names[a], lay.joint_names[b]
            assert na.replace("left", "X").replace("right", "X") == nb.replace(
                "left", "X"
            ).replace("right", "X"), (name, na, nb)
            assert ("left" in na) != ("left" in nb)


def test_aliases_and_case() -> None:
    assert get_layout("ntu-rgb+d") is get_layout("ntu25")
    assert get_layout("OpenPose") is get_layout("openpose18")
    assert get_layout("coco").name == "coco17"
    lay = get_layout("body25")
    assert get_layout(lay) is lay


def test_unknown_layout_lists_known() -> None:
    with pytest.raises(ConfigError) as err:
        get_layout("smpl24")
    msg = str(err.value)
    for name in ("ntu25", "coco17", "openpose18", "body25", "mediapipe33"):
        assert name in msg


def test_register_custom_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    # keep the global registry clean for the rest of the session
    monkeypatch.setattr(layouts, "_REGISTRY", dict(layouts._REGISTRY))
    monkeypatch.setattr(layouts, "_ALIASES", dict(layouts._ALIASES))
    lay = Layout(
        name="test_chain3_xyz",
        joint_names=("a", "b", "c"),
        parents=(-1, 0, 1),
        edges=((1, 0), (2, 1)),
        center=0,
        aliases=("test_chain3_alias",),
    )
    assert register_layout(lay) is lay
    assert get_layout("test_chain3_alias") is lay
    assert "test_chain3_xyz" in list_layouts()
    with pytest.raises(ConfigError):
        register_layout(lay)
    assert lay.index("c") == 2
    with pytest.raises(ConfigError):
        lay.index("d")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"parents": (-1, 0)},  # wrong length
        {"edges": ((1, 5),)},  # out of range
        {"center": 3},
        {"edges": ((1, 1),)},  # self edge
    ],
)
def test_invalid_layout_rejected(kwargs: dict) -> None:
    base = dict(name="bad", joint_names=("a", "b", "c"), parents=(-1, 0, 1),
                edges=((1, 0), (2, 1)), center=0)
    base.update(kwargs)
    with pytest.raises(ConfigError):
        Layout(**base)


def test_one_joint_count_table() -> None:
    """Readers, converters, plots and training share one joint count -> layout table."""
    from skelloc.io.arrays import DEFAULT_LAYOUTS
    from skelloc.skeleton.layouts import LAYOUT_BY_JOINTS, layout_for_joints

    assert DEFAULT_LAYOUTS is LAYOUT_BY_JOINTS
    for joints, name in LAYOUT_BY_JOINTS.items():
        assert get_layout(name).num_joints == joints and layout_for_joints(joints) == name
    assert layout_for_joints(7) is None
