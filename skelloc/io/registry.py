"""Format registry and the one entry point :func:`read`.

A *reader* is a callable ``reader(path: Path, **options) -> SkeletonSequence``.  Built-in
readers are registered by dotted name and imported only when first used, so that
``import skelloc.io`` stays cheap.  Third-party formats join with :func:`register_reader`::

    @skelloc.io.register_reader("myformat", extensions=(".myf",))
    def read_myformat(path, **options):
        ...
        return SkeletonSequence(joints, layout="coco17", fps=25.0)
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import ConfigError, SkeletonFormatError, in_cli_words
from skelloc.io._limits import check_coordinates
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = ["Reader", "read", "register_reader", "list_formats", "detect_format"]

logger = logging.getLogger(__name__)

Reader = Callable[..., SkeletonSequence]


@dataclass
class _Entry:
    name: str
    target: Reader | str  # a callable, or "module:function" resolved on first use
    extensions: tuple[str, ...]
    description: str

    def load(self) -> Reader:
        if isinstance(self.target, str):
            module_name, attr = self.target.split(":")
            self.target = getattr(importlib.import_module(module_name), attr)
        assert not isinstance(self.target, str)
        return self.target


_REGISTRY: dict[str, _Entry] = {}


def _add(name: str, target: Reader | str, extensions: Iterable[str], description: str) -> None:
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    _REGISTRY[name.lower()] = _Entry(name.lower(), target, exts, description)


_add("npy", "skelloc.io.arrays:read_npy", [".npy"], "NumPy array (T, V, C) or (T, M, V, C)")
_add("npz", "skelloc.io.arrays:read_npz", [".npz"], "NumPy archive holding one joints array")
_add("ntu", "skelloc.io.ntu:read_ntu_skeleton", [".skeleton"], "NTU RGB+D .skeleton text")
_add("pkummd", "skelloc.io.pkummd:read_pkummd_skeleton", [".txt"],
     "PKU-MMD skeleton text (150 floats per frame line)")
_add("utkinect", "skelloc.io.utkinect:read_utkinect", [],
     "UTKinect-Action3D joints_sXX_eYY.txt (Kinect v1, 20 joints; frame-id clock at 30 fps)")
_add("bvh", "skelloc.io.bvh:read_bvh", [".bvh"], "BVH motion capture (forward kinematics)")
_add("mmpose", "skelloc.io.pose_estimators:read_mmpose", [],
     "MMPose inferencer JSON (COCO-17 by default)")
_add("openpose", "skelloc.io.pose_estimators:read_openpose", [],
     "OpenPose BODY_25 JSON: a folder of per-frame files, or one file")
_add("mediapipe", "skelloc.io.pose_estimators:read_mediapipe", [".csv"],
     "MediaPipe Pose landmarks (JSON or CSV)")


def register_reader(
    name: str,
    reader: Reader | None = None,
    *,
    extensions: Iterable[str] = (),
    description: str = "",
    overwrite: bool = False,
) -> Any:
    """Register ``reader`` for format ``name`` (usable as a decorator when ``reader`` is None).

    ``extensions`` (e.g. ``(".myf",)``) let :func:`read` pick the reader from a file name.
    Registering an existing name raises :class:`ConfigError` unless ``overwrite=True``.
    """

    def _register(fn: Reader) -> Reader:
        if not callable(fn):
            raise ConfigError(f"reader for {name!r} must be callable, got {type(fn).__name__}")
        if name.lower() in _REGISTRY and not overwrite:
            raise ConfigError(f"a reader named {name!r} is already registered "
                              "(pass overwrite=True to replace it)")
        _add(name, fn, extensions, description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return _register if reader is None else _register(reader)


def list_formats() -> dict[str, str]:
    """``{format name: description}`` of every registered reader."""
    return {name: entry.description for name, entry in sorted(_REGISTRY.items())}


def _sniff_json(path: Path) -> str:
    """Tell MMPose, OpenPose and MediaPipe JSON apart by their structure."""
    from skelloc.io._text import load_json

    data = load_json(path)
    if isinstance(data, dict):
        if "people" in data:
            return "openpose"
        if "instance_info" in data or "instances" in data:
            return "mmpose"
        for key in ("frames", "landmarks", "pose_landmarks", "pose_world_landmarks"):
            if key in data:
                return "mediapipe"
    if isinstance(data, list) and data:
        first = data[0]
        if isinstance(first, dict):
            if "instances" in first:
                return "mmpose"
            if "people" in first:
                return "openpose"
            keys = {"landmarks", "pose_landmarks", "pose_world_landmarks", "world_landmarks"}
            if keys & set(first):
                return "mediapipe"
        if isinstance(first, list):
            return "mediapipe"
    raise in_cli_words(SkeletonFormatError(
        "cannot tell which pose-estimator JSON this is (expected MMPose "
        "[{frame_id, instances}], OpenPose {people: [...]}, or MediaPipe landmarks); "
        "pass format=...", path=path), ("pass format=...", "pass --input-format mmpose, "
                                        "openpose or mediapipe"))


def _first_line_width(path: Path) -> int:
    """Whitespace-separated fields on the first non-empty line (0 when unreadable)."""
    try:
        if not path.is_file():  # a device (a link to /dev/zero) or a FIFO: read() refuses it
            return 0
        with path.open("rb") as fh:
            head = fh.read(65536)  # never more: a huge file or one without newlines
    except OSError:
        return 0
    for raw in head.splitlines():
        if raw.strip():
            return len(raw.split())
    return 0


def detect_format(path: str | Path) -> str:
    """The format name :func:`read` would use for ``path`` (by extension, then by content)."""
    p = Path(path)
    if p.is_dir():
        if any(p.glob("*_keypoints.json")) or any(p.glob("*.json")):
            return "openpose"
        raise SkeletonFormatError("folder holds no OpenPose per-frame *.json files", path=p)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _sniff_json(p)
    if suffix == ".txt" and _first_line_width(p) == 61:  # a frame id + 20 joints x 3
        return "utkinect"
    matches = [e.name for e in _REGISTRY.values() if suffix and suffix in e.extensions]
    if not matches:
        known = sorted({x for e in _REGISTRY.values() for x in e.extensions} | {".json"})
        raise in_cli_words(SkeletonFormatError(
            f"unknown file extension {suffix or '(none)'!r}; known: {', '.join(known)}; "
            "or pass format=...", path=p), ("pass format=...", "pass --input-format NAME"))
    return matches[-1]  # a later (third-party) registration wins


def read(path: str | Path, format: str | None = None, **options: Any) -> SkeletonSequence:
    """Read a skeleton file into a :class:`SkeletonSequence` (``joints`` float32 ``(T, M, V, C)``).

    The format is chosen by ``format=`` or else by the extension (``.json`` files are told
    apart by content; a folder is read as OpenPose per-frame JSON).  Common options:

    - ``fps``: frame rate (overrides the format's default or the file's own value);
    - ``layout``: the layout of the file's joints where the format does not fix it (arrays);
    - ``to_layout``: convert the joints to this layout after reading (e.g. ``"ntu25"`` for
      COCO-17 / BODY_25 / MediaPipe output fed to an NTU-trained model), via
      :func:`skelloc.skeleton.convert.convert_layout`;
    - format-specific options are documented on each reader (``skelloc.io.list_formats()``).

    Raises:
        SkeletonFormatError: the file is not a valid instance of its format (names file, line).
        FileNotFoundError (as :class:`SkeletonFormatError`): the path does not exist.
    """
    p = Path(path)
    if not p.exists():
        raise SkeletonFormatError("no such file or folder", path=p)
    name = (format or detect_format(p)).lower()
    try:
        entry = _REGISTRY[name]
    except KeyError:
        raise in_cli_words(ConfigError(
            f"unknown format {format!r}; known: {', '.join(sorted(_REGISTRY))}"),
            ("unknown format", "unknown --input-format")) from None
    to_layout = options.pop("to_layout", None)
    reader = entry.load()
    try:
        inspect.signature(reader).bind(p, **options)
    except TypeError as err:
        raise ConfigError(f"format {name!r} does not take these options: {err}") from None
    except ValueError:  # no introspectable signature (builtins): let the call decide
        pass
    seq = reader(p, **options)
    seq.meta.setdefault("source", str(p))
    seq.meta.setdefault("format", name)
    _check_sequence(seq, p)
    if to_layout is not None:
        from skelloc.skeleton.layouts import get_layout

        to_layout = get_layout(to_layout).name
    if to_layout is not None and to_layout != get_layout(seq.layout).name:
        from skelloc.skeleton.convert import convert_layout

        seq.joints = np.ascontiguousarray(
            convert_layout(seq.joints, seq.layout, to_layout), dtype=np.float32)
        seq.meta["converted_from"] = seq.layout
        seq.layout = to_layout
    logger.info("read %s as %s: %r", p, name, seq)
    return seq


def _check_sequence(seq: SkeletonSequence, path: Path) -> None:
    j = seq.joints
    if not isinstance(j, np.ndarray) or j.ndim != 4:
        raise SkeletonFormatError(
            f"reader returned joints of shape {getattr(j, 'shape', None)}, expected (T, M, V, C)",
            path=path)
    # NaN stays the "missing joint" marker of arrays (nonfinite=...); inf and values past the
    # plausible range are refused (skelloc.io._limits)
    check_coordinates(j, path, nan_ok=True)
    if j.dtype != np.float32:
        seq.joints = j.astype(np.float32)
    fps = seq.fps
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 100_000:
        raise SkeletonFormatError(f"fps must be positive and at most 100000, got {fps!r}",
                                  path=path)
