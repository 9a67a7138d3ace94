"""Graph partitions against hand-worked values and a loop transcription of the upstream code."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.errors import ConfigError
from skelloc.skeleton import Graph, get_layout, list_layouts


def _stgcn_reference(name: str, max_hop: int, dilation: int) -> np.ndarray:
    """Line-by-line transcription of yysijie/st-gcn ``net/utils/graph.py`` ('spatial')."""
    lay = get_layout(name)
    v = lay.num_joints
    edge = [(i, i) for i in range(v)] + list(lay.edges)
    a = np.zeros((v, v))
    for i, j in edge:
        a[j, i] = 1
        a[i, j] = 1
    hop_dis = np.zeros((v, v)) + np.inf
    transfer = [np.linalg.matrix_power(a, d) for d in range(max_hop + 1)]
    arrive = np.stack(transfer) > 0
    for d in range(max_hop, -1, -1):
        hop_dis[arrive[d]] = d
    valid_hop = range(0, max_hop + 1, dilation)
    adjacency = np.zeros((v, v))
    for hop in valid_hop:
        adjacency[hop_dis == hop] = 1
    dl = np.sum(adjacency, 0)
    dn = np.zeros((v, v))
    for i in range(v):
        if dl[i] > 0:
            dn[i, i] = dl[i] ** (-1)
    norm = np.dot(adjacency, dn)
    out = []
    c = lay.center
    for hop in valid_hop:
        root, close, further = np.zeros((v, v)), np.zeros((v, v)), np.zeros((v, v))
        for i in range(v):
            for j in range(v):
                if hop_dis[j, i] == hop:
                    if hop_dis[j, c] == hop_dis[i, c]:
                        root[j, i] = norm[j, i]
                    elif hop_dis[j, c] > hop_dis[i, c]:
                        close[j, i] = norm[j, i]
                    else:
                        further[j, i] = norm[j, i]
        if hop == 0:
            out.append(root)
        else:
            out.append(root + close)
            out.append(further)
    return np.stack(out)


@pytest.mark.parametrize("name", ["ntu25", "openpose18", "coco17", "mediapipe33"])
@pytest.mark.parametrize("max_hop,dilation", [(1, 1), (2, 1), (2, 2)])
def test_spatial_matches_upstream_transcription(name: str, max_hop: int, dilation: int) -> None:
    g = Graph(name, "spatial", max_hop=max_hop, dilation=dilation)
    ref = _stgcn_reference(name, max_hop, dilation)
    assert g.A.dtype == np.float32
    assert g.A.shape == ref.shape
    np.testing.assert_allclose(g.A, ref, atol=1e-7)


def test_ntu25_spatial_hand_values() -> None:
    g = Graph("ntu25", "spatial")
    a = g.A
    assert a.shape == (3, 25, 25) and g.num_subsets == 3 and g.num_nodes == 25
    # centre (0-based 20): self + 4 neighbours -> 1/5 each; all neighbours are farther
    assert a[0, 20, 20] == pytest.approx(0.2)
    for v in (1, 2, 4, 8):
        assert a[1, v, 20] == pytest.approx(0.2)
    assert not a[2, :, 20].any()
    # spine_mid (1): neighbours 0 and 20; degree 3; centre is closer -> centripetal
    assert a[0, 1, 1] == pytest.approx(1 / 3)
    assert a[2, 20, 1] == pytest.approx(1 / 3)
    assert a[1, 0, 1] == pytest.approx(1 / 3)
    # spine_base (0): neighbours 1, 12, 16; degree 4
    assert a[2, 1, 0] == pytest.approx(0.25)
    assert a[1, 12, 0] == pytest.approx(0.25) and a[1, 16, 0] == pytest.approx(0.25)
    # left knee (13): hop distances to the centre are truncated at max_hop, so the hip (12)
    # and ankle (14) both count as "equally far" -> subset 1 (ST-GCN behaviour)
    assert a[1, 12, 13] == pytest.approx(1 / 3) and a[1, 14, 13] == pytest.approx(1 / 3)
    assert a[2, 12, 13] == 0
    # hands chained: left hand tip (21) links to the thumb (22) only
    assert a[:, 22, 21].sum() == pytest.approx(0.5) and a[:, 7, 21].sum() == 0
    # every column of the summed partition sums to one (column normalisation)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), np.ones(25), atol=1e-6)
    # symmetric support
    support = a.sum(0) > 0
    assert (support == support.T).all() and support.sum() == 25 + 2 * 24


def test_exact_center_distance_option() -> None:
    a = Graph("ntu25", "spatial", exact_center_distance=True).A
    # true distances: hip 12 is 3 hops from the centre, knee 13 is 4 -> hip is centripetal
    assert a[2, 12, 13] == pytest.approx(1 / 3)
    assert a[1, 14, 13] == pytest.approx(1 / 3)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), np.ones(25), atol=1e-6)


def test_pyskl_hands_graph() -> None:
    a = Graph("ntu25_pyskl", "spatial").A
    assert a[:, 7, 21].sum() == pytest.approx(0.5)  # tip -> hand
    assert a[0, 7, 7] == pytest.approx(0.25)  # hand: wrist, tip, thumb + self


def test_uniform_and_distance() -> None:
    u = Graph("coco17", "uniform").A
    assert u.shape == (1, 17, 17)
    assert u[0, 0, 0] == pytest.approx(1 / 5)  # nose: self + 1,2,5,6
    np.testing.assert_allclose(u[0].sum(0), np.ones(17), atol=1e-6)
    d = Graph("coco17", "distance", max_hop=2).A
    assert d.shape == (3, 17, 17)
    # nose within 2 hops: self, 1,2,5,6, 3,4, 7,8,11,12 -> 11 nodes
    assert d[0, 0, 0] == pytest.approx(1 / 11)
    assert d[2, 11, 0] == pytest.approx(1 / 11) and d[1, 11, 0] == 0
    np.testing.assert_allclose(d.sum(axis=(0, 1)), np.ones(17), atol=1e-6)


def test_agcn_in_out_of_leaf_and_root() -> None:
    g = Graph("ntu25", "agcn")
    eye, a_in, a_out = g.A
    assert g.A.shape == (3, 25, 25)
    np.testing.assert_array_equal(eye, np.eye(25, dtype=np.float32))
    # head (3) is a leaf whose parent is the neck (2), the neck's only child
    assert a_in[2, 3] == 1.0 and a_in[:, 3].sum() == 1.0
    assert a_out[3, 2] == 1.0 and not a_out[:, 3].any()
    # left foot (15), leaf under the ankle (14)
    assert a_in[14, 15] == 1.0 and a_out[15, 14] == 1.0 and not a_out[:, 15].any()
    # root 20 has no parent; its four children share the outward column
    assert not a_in[:, 20].any()
    for v in (1, 2, 4, 8):
        assert a_out[v, 20] == pytest.approx(0.25)
    # spine base (0): children 12 and 16
    assert a_out[12, 0] == pytest.approx(0.5) and a_out[16, 0] == pytest.approx(0.5)


def test_all_layouts_all_strategies_build() -> None:
    for name in list_layouts():
        for strategy in ("spatial", "agcn", "uniform", "distance"):
            a = Graph(name, strategy).A
            v = get_layout(name).num_joints
            assert a.shape[1:] == (v, v) and np.isfinite(a).all() and (a >= 0).all()


@pytest.mark.parametrize("kw", [{"strategy": "stgcn"}, {"max_hop": 0}, {"dilation": 0}])
def test_bad_arguments(kw: dict) -> None:
    with pytest.raises(ConfigError):
        Graph("ntu25", **kw)
