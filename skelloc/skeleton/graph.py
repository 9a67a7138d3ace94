"""Partitioned adjacency matrices for graph convolutions (ST-GCN and 2s-AGCN conventions).

Contraction convention (ST-GCN ``ConvTemporalGraphical``, 2s-AGCN ``unit_gcn``): the output at
node ``w`` is ``sum_k sum_v x_k[v] * A[k, v, w]``, so ``A[k, v, w]`` is the weight of *input*
joint ``v`` for *output* joint ``w`` and every matrix is normalised over its columns
(``A @ D^-1`` with ``D`` the column degrees, ST-GCN's ``normalize_digraph``).

Strategies:

* ``"uniform"`` (K=1): the normalised adjacency with self-loops.
* ``"distance"`` (K = number of valid hops): one subset per hop distance.
* ``"spatial"`` (K = 1 + 2 * hops): ST-GCN's partition.  Subset 0: the root (self);
  then per hop: neighbours at the same or a larger distance from the centre than the output
  joint (centrifugal), and neighbours closer to the centre (centripetal).  As in
  ``yysijie/st-gcn`` ``net/utils/graph.py`` the distance to the centre is the hop distance
  *truncated at* ``max_hop`` (farther joints count as infinitely far, hence "equal"); this keeps
  converted ST-GCN weights exact.  ``exact_center_distance=True`` uses the true tree distance.
* ``"agcn"`` (K=3): 2s-AGCN's ``graph/tools.py`` ``[I, norm(inward), norm(outward)]`` built from
  the orientation of the layout's ``(child, parent)`` edge list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skelloc.errors import ConfigError
from skelloc.skeleton.layouts import Layout, get_layout

__all__ = ["Graph", "STRATEGIES", "hop_distance", "normalize_digraph", "edge2mat"]

STRATEGIES = ("spatial", "agcn", "uniform", "distance")


Edges = Sequence[tuple[int, int]]


def edge2mat(edges: Edges, num_nodes: int) -> np.ndarray:
    """Binary matrix with ``A[j, i] = 1`` for every pair ``(i, j)`` (2s-AGCN ``edge2mat``)."""
    a = np.zeros((num_nodes, num_nodes), dtype=np.float64)
    for i, j in edges:
        a[j, i] = 1.0
    return a


def normalize_digraph(a: np.ndarray) -> np.ndarray:
    """Column normalisation ``A @ D^-1`` (columns summing to zero are left at zero)."""
    col = a.sum(axis=0)
    inv = np.zeros_like(col)
    nz = col > 0
    inv[nz] = 1.0 / col[nz]
    return a * inv[None, :]


def hop_distance(num_nodes: int, edges: Edges, max_hop: int | None = 1) -> np.ndarray:
    """Symmetric hop distances; pairs farther than ``max_hop`` are ``inf``.

    ``max_hop=None`` gives the full (untruncated) shortest-path distance.
    """
    adj = np.eye(num_nodes, dtype=bool)
    for i, j in edges:
        adj[i, j] = adj[j, i] = True
    dist = np.full((num_nodes, num_nodes), np.inf)
    np.fill_diagonal(dist, 0.0)
    limit = num_nodes if max_hop is None else max_hop
    reach = np.eye(num_nodes, dtype=bool)
    for d in range(1, limit + 1):
        new = (reach.astype(np.int64) @ adj.astype(np.int64)) > 0
        fresh = new & ~reach
        if not fresh.any():
            break
        dist[fresh] = d
        reach = new
    return dist


class Graph:
    """Partitioned adjacency ``A`` (float32 ``(K, V, V)``) of a skeleton layout.

    Args:
        layout: a layout name (see :func:`skelloc.skeleton.layouts.list_layouts`) or a ``Layout``.
        strategy: ``"spatial"`` | ``"agcn"`` | ``"uniform"`` | ``"distance"``.
        max_hop: largest hop distance linked (ST-GCN; ignored by ``"agcn"``).
        dilation: hop step (ST-GCN; ignored by ``"agcn"``).
        exact_center_distance: ``"spatial"`` only; use untruncated distances to the centre.
    """

    def __init__(
        self,
        layout: str | Layout = "ntu25",
        strategy: str = "spatial",
        max_hop: int = 1,
        dilation: int = 1,
        *,
        exact_center_distance: bool = False,
    ) -> None:
        self.layout: Layout = get_layout(layout)
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"unknown graph strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if not isinstance(max_hop, (int, np.integer)) or max_hop < 1:
            raise ConfigError(f"max_hop must be an integer >= 1, got {max_hop!r}")
        if not isinstance(dilation, (int, np.integer)) or dilation < 1:
            raise ConfigError(f"dilation must be an integer >= 1, got {dilation!r}")
        self.strategy = strategy
        self.max_hop = int(max_hop)
        self.dilation = int(dilation)
        self.exact_center_distance = bool(exact_center_distance)
        self.num_nodes: int = self.layout.num_joints
        self.center: int = self.layout.center
        self.edges: tuple[tuple[int, int], ...] = self.layout.edges
        self.hop_dis = hop_distance(self.num_nodes, self.edges, self.max_hop)
        self.A: np.ndarray = self._build().astype(np.float32)

    @property
    def num_subsets(self) -> int:
        return int(self.A.shape[0])

    @property
    def inward(self) -> tuple[tuple[int, int], ...]:
        return self.edges

    @property
    def outward(self) -> tuple[tuple[int, int], ...]:
        return tuple((j, i) for i, j in self.edges)

    def __repr__(self) -> str:
        return (
            f"Graph(layout={self.layout.name!r}, strategy={self.strategy!r}, "
            f"max_hop={self.max_hop}, dilation={self.dilation}, A={tuple(self.A.shape)})"
        )

    # ------------------------------------------------------------------ builders
    def _build(self) -> np.ndarray:
        v = self.num_nodes
        if self.strategy == "agcn":
            eye = np.eye(v)
            a_in = normalize_digraph(edge2mat(self.inward, v))
            a_out = normalize_digraph(edge2mat(self.outward, v))
            return np.stack([eye, a_in, a_out])

        hops = list(range(0, self.max_hop + 1, self.dilation))
        adjacency = np.zeros((v, v))
        for hop in hops:
            adjacency[self.hop_dis == hop] = 1.0
        norm = normalize_digraph(adjacency)

        if self.strategy == "uniform":
            return norm[None]
        if self.strategy == "distance":
            out = np.zeros((len(hops), v, v))
            for k, hop in enumerate(hops):
                mask = self.hop_dis == hop
                out[k][mask] = norm[mask]
            return out
        # "spatial"
        if self.exact_center_distance:
            to_center = hop_distance(v, self.edges, None)[:, self.center]
        else:
            to_center = self.hop_dis[:, self.center]
        # d_in[j, i] = distance of input j to centre, d_out[j, i] = distance of output i
        d_in = np.broadcast_to(to_center[:, None], (v, v))
        d_out = np.broadcast_to(to_center[None, :], (v, v))
        subsets: list[np.ndarray] = []
        for hop in hops:
            at_hop = self.hop_dis == hop
            root = np.where(at_hop & (d_in == d_out), norm, 0.0)
            centrifugal = np.where(at_hop & (d_in > d_out), norm, 0.0)
            centripetal = np.where(at_hop & (d_in < d_out), norm, 0.0)
            if hop == 0:
                subsets.append(root)
            else:
                subsets.append(root + centrifugal)
                subsets.append(centripetal)
        return np.stack(subsets)
