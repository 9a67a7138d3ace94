"""Shared plotting helpers: the matplotlib import guard, class colours, figures and saving.

Figures are plain :class:`matplotlib.figure.Figure` objects, not pyplot figures: nothing is
registered with pyplot's global state, no GUI backend is touched (rendering and saving use Agg,
so it works headless), and a long CLI loop leaks no figures. In a notebook a returned figure
displays as the cell's value like any other.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from skelloc.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "INSTALL_HINT",
    "class_color",
    "figure_format",
    "new_figure",
    "require_matplotlib",
    "save_figure",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "skelloc[viz]"'

#: class ``k`` gets colour ``k % _PALETTE_SIZE`` in every figure: tab10 for the first ten, then
#: a Glasbey-style palette (each next colour the farthest in CIELAB from all chosen so far,
#: among colours dark and saturated enough to read as a thin line on white).
_PALETTE_SIZE = 64


def require_matplotlib() -> Any:
    """Import matplotlib, or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        import matplotlib
        import matplotlib.figure  # the class every function returns
    except ImportError as err:
        raise MissingDependencyError(
            f"plots need matplotlib, which is not installed: {INSTALL_HINT}"
        ) from err
    return matplotlib


def new_figure(figsize: tuple[float, float], dpi: float = 100.0, **kwargs: Any) -> Figure:
    """A pyplot-free figure with constrained layout (legends placed ``outside`` keep their room
    without changing the figure's pixel size)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    return Figure(figsize=figsize, dpi=dpi, **kwargs)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] ``(N, 3)`` to CIELAB (D65)."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])],
                    axis=1)


def _palette() -> list[tuple[float, float, float]]:
    import matplotlib

    tab10 = matplotlib.colormaps["tab10"]
    chosen = np.array([tab10(i)[:3] for i in range(10)], dtype=np.float64)
    steps = np.linspace(0.0, 1.0, 16)
    grid = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    lab = _lab(grid)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    keep = (lab[:, 0] > 20) & (lab[:, 0] < 80) & (chroma > 15)  # no near-white/black/grey
    grid, lab = grid[keep], lab[keep]
    dist = np.min(np.linalg.norm(lab[:, None, :] - _lab(chosen)[None], axis=2), axis=1)
    picked = [tuple(float(c) for c in row) for row in chosen]
    while len(picked) < _PALETTE_SIZE:
        i = int(np.argmax(dist))
        picked.append(tuple(float(c) for c in grid[i]))
        dist = np.minimum(dist, np.linalg.norm(lab - lab[i], axis=1))
    return picked  # type: ignore[return-value]


_PALETTE_CACHE: list[tuple[float, float, float]] = []


def class_color(label_id: int) -> tuple[float, float, float]:
    """The RGB colour of class ``label_id`` (0-based), the same in every skelloc figure."""
    require_matplotlib()
    if not _PALETTE_CACHE:
        _PALETTE_CACHE.extend(_palette())
    return _PALETTE_CACHE[int(label_id) % len(_PALETTE_CACHE)]


def figure_format(path: str | os.PathLike[str]) -> str:
    """The image format for ``path`` from its suffix (``png``, ``pdf``, ``svg``, ``jpg``...);
    :class:`ConfigError` for a missing or unknown suffix."""
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    supported = sorted(k for k in FigureCanvasBase.get_supported_filetypes() if k not in
                       ("raw", "rgba"))
    suffix = Path(path).suffix.lower().lstrip(".")
    if not suffix:
        raise ConfigError(f"{path}: no file suffix to pick the image format from; use one of "
                          f"{', '.join('.' + s for s in supported)}")
    if suffix not in supported:
        raise ConfigError(f"{path}: unknown image format '.{suffix}'; use one of "
                          f"{', '.join('.' + s for s in supported)}")
    return suffix


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: float | None = None,
                **savefig_kwargs: Any) -> Path:
    """Write ``fig`` to ``path`` atomically, the format from the suffix; returns the path.

    The pixel size is ``figsize × dpi`` (``dpi`` defaults to the figure's): no tight bounding
    box, so figures of one kind line up.
    """
    fmt = figure_format(path)
    from skelloc._atomic import atomic_path

    target = Path(path)
    with atomic_path(target, suffix=target.suffix) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi if dpi is not None else fig.dpi, **savefig_kwargs)
    logger.info("wrote %s", target)
    return target
