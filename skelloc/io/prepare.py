"""Training caches (``skelloc prepare``), in the format of ``docs/ARCHITECTURE.md``::

    OUT/dataset.json        {"format": "skelloc-cache", "version": 1, "dataset", "fps", "layout",
                             "classes", "background_index", "videos": [{"id", "num_frames",
                             "performance", "split", "segments": [[label, start, end), ...]}]}
    OUT/skeletons/<id>.npy  (T, M, V, C), float16 by default

Segments are 0-based with an exclusive end.  Validation splits are drawn by *performance*
(PKU-MMD: the 4-digit id, so all three views of one performance fall on the same side).
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import ConfigError, SkeletonFormatError
from skelloc.io.writers import atomic_save_npy, atomic_write_text

__all__ = [
    "CacheVideo",
    "CacheWriter",
    "assign_validation",
    "resample_segments",
    "read_id_list",
    "prepare_pkummd",
    "image2d_keypoints",
    "prepare_ntu",
    "prepare_babel",
    "ntu_split",
    "load_cache",
]

logger = logging.getLogger(__name__)

CACHE_FORMAT = "skelloc-cache"
CACHE_VERSION = 1


@dataclass
class CacheVideo:
    """One entry of ``dataset.json``'s ``videos``."""

    id: str
    num_frames: int
    performance: str
    split: str | None
    segments: list[list[int]] = field(default_factory=list)


class CacheWriter:
    """Writes skeleton arrays as they come, then ``dataset.json`` (atomically) on :meth:`close`."""

    def __init__(self, out: Path | str, *, dataset: str, fps: float, layout: str,
                 classes: Sequence[str], dtype: str = "float16",
                 extra: dict[str, Any] | None = None):
        if dtype not in ("float16", "float32"):
            raise ConfigError(f"dtype must be float16 or float32, got {dtype!r}")
        self.out = Path(out)
        (self.out / "skeletons").mkdir(parents=True, exist_ok=True)
        self.dataset, self.fps, self.layout = dataset, float(fps), layout
        self.classes, self.dtype = list(classes), dtype
        self.extra = dict(extra or {})
        self.videos: list[CacheVideo] = []

    def add(self, video: CacheVideo, joints: np.ndarray) -> None:
        if joints.ndim != 4 or joints.shape[0] != video.num_frames:
            raise ValueError(f"{video.id}: joints {joints.shape} vs num_frames {video.num_frames}")
        for label, start, end in video.segments:
            if not (0 <= label < len(self.classes) and 0 <= start < end <= video.num_frames):
                raise ValueError(f"{video.id}: bad segment {[label, start, end]}")
        atomic_save_npy(self.out / "skeletons" / f"{video.id}.npy", joints.astype(self.dtype))
        self.videos.append(video)

    def close(self) -> Path:
        data = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "dataset": self.dataset,
                "fps": self.fps, "layout": self.layout, "classes": self.classes,
                "background_index": len(self.classes),
                "label_convention": "0-based frames, end exclusive", **self.extra,
                "videos": [asdict(v) for v in sorted(self.videos, key=lambda v: v.id)]}
        return atomic_write_text(self.out / "dataset.json", json.dumps(data, indent=1) + "\n")


def load_cache(path: Path | str) -> dict[str, Any]:
    """Read and check a cache's ``dataset.json`` (``path`` = the cache folder or the file)."""
    from skelloc.io._text import load_json

    p = Path(path)
    p = p / "dataset.json" if p.is_dir() else p
    data = load_json(p)
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        raise SkeletonFormatError("not a skelloc training cache (format != skelloc-cache)",
                                  path=p)
    if data.get("version", CACHE_VERSION) != CACHE_VERSION:  # hand-written indexes may omit it
        raise SkeletonFormatError(f"unsupported cache version {data.get('version')}", path=p)
    return data


def read_id_list(path: Path | str) -> list[str]:
    """Ids one per line (or comma separated); ``#`` starts a comment."""
    from skelloc.io._text import text_lines

    ids: list[str] = []
    for line in text_lines(Path(path)):
        line = line.split("#", 1)[0]
        ids.extend(t.strip() for t in line.replace(",", " ").split() if t.strip())
    return ids


def assign_validation(videos: list[CacheVideo], *, val_performances: Iterable[str] | None = None,
                      val_fraction: float | None = None, seed: int = 0) -> list[str]:
    """Move whole performances of the ``train`` videos to ``val``; returns the val performances.

    ``val_performances`` names them; ``val_fraction`` draws ``round(fraction * n)`` (at least
    one) of the sorted train performances with ``random.Random(seed)``, the same in every
    process.
    """
    if val_performances is not None and val_fraction is not None:
        raise ConfigError("give either val_performances or val_fraction, not both")
    train_perfs = sorted({v.performance for v in videos if v.split == "train"})
    if val_performances is not None:
        chosen = sorted(set(val_performances))
        unknown = [p for p in chosen if p not in train_perfs]
        if unknown:
            logger.warning("validation performances not among the training videos: %s", unknown)
    elif val_fraction is not None:
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
        if len(train_perfs) < 2:
            raise ConfigError("need at least two training performances to carve a validation set")
        n = min(len(train_perfs) - 1, max(1, round(val_fraction * len(train_perfs))))
        chosen = sorted(random.Random(seed).sample(train_perfs, n))
    else:
        return []
    keep = set(chosen)
    for v in videos:
        if v.split == "train" and v.performance in keep:
            v.split = "val"
    return chosen


def resample_segments(segments: list[list[int]], src_fps: float, dst_fps: float,
                      num_frames: int) -> list[list[int]]:
    """Map ``[label, start, end)`` segments to another frame rate, keeping their full extent
    (start rounded down, exclusive end rounded up; clipped to ``num_frames``)."""
    if src_fps == dst_fps:
        return [list(s) for s in segments]
    from skelloc.skeleton.resample import map_frames

    out = []
    for label, start, end in segments:
        s = int(map_frames(int(start), src_fps, dst_fps, "floor"))
        e = int(map_frames(int(end), src_fps, dst_fps, "ceil"))
        s, e = max(0, min(s, num_frames)), max(0, min(e, num_frames))
        if e > s:
            out.append([label, s, e])
    return out


def _resample(joints: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    if src_fps == dst_fps:
        return joints
    from skelloc.skeleton.resample import resample

    return np.asarray(resample(joints, src_fps, dst_fps))


# --------------------------------------------------------------------------- PKU-MMD
@dataclass
class _PkuSource:
    kind: str  # "arrays" (skeletons/*.npy) or "text" (official skeleton text files)
    skeletons: dict[str, Path]
    labels: dict[str, Path]
    split_file: Path | None


def _find_pkummd(src: Path, split_file: Path | None) -> _PkuSource:
    def ids(folder: Path, ext: str) -> dict[str, Path]:
        return {p.stem: p for p in sorted(folder.glob(f"*{ext}"))
                if len(p.stem) == 6 and p.stem[4] == "-"}

    folders = [src, *sorted(p for p in src.rglob("*") if p.is_dir())]
    npy = next((f for f in folders if f.name == "skeletons" and ids(f, ".npy")), None)
    label_dirs = [f for f in folders if "label" in f.name.lower() and ids(f, ".txt")]
    skel_dirs = [f for f in folders if "skeleton" in f.name.lower() and ids(f, ".txt")
                 and f not in label_dirs]
    if not label_dirs:
        raise SkeletonFormatError("no PKU-MMD label folder (a folder whose name contains "
                                  "'label' holding XXXX-V.txt files)", path=src)
    if split_file is None:
        split_file = next(iter(sorted(src.rglob("cross-subject.txt"))), None)
    if npy is not None:
        return _PkuSource("arrays", ids(npy, ".npy"), ids(label_dirs[0], ".txt"), split_file)
    if skel_dirs:
        return _PkuSource("text", ids(skel_dirs[0], ".txt"), ids(label_dirs[0], ".txt"),
                          split_file)
    raise SkeletonFormatError("no PKU-MMD skeletons (skeletons/*.npy, or a folder whose name "
                              "contains 'skeleton' holding XXXX-V.txt files)", path=src)


def prepare_pkummd(src: Path | str, out: Path | str, *, fps: float | None = None,
                   val_performances: Iterable[str] | None = None,
                   val_fraction: float | None = None, seed: int = 0,
                   split_file: Path | str | None = None, dtype: str = "float16",
                   index_base: int = 1, inclusive_end: bool = True,
                   progress: bool = False, image2d: bool = False) -> Path:
    """Convert PKU-MMD into a training cache; returns the path of ``dataset.json``.

    ``src`` is either the official layout (skeleton text folder, e.g. ``PKU_Skeleton_Renew``,
    label folder ``Train_Label_PKU_final``, split file ``cross-subject.txt``) or the
    ``skeletons/*.npy`` + ``labels/`` layout.  Videos in the split file's training list (or
    every video, without a split file) are ``train``, those of its test list ``test``;
    ``val_performances`` / ``val_fraction`` move whole training performances to ``val``.
    Classes are the 51 PKU-MMD classes (label index = class id - 1).  ``fps`` (e.g. 15)
    downsamples from 30 fps, segments included.  ``image2d`` writes 2D keypoints instead:
    the joints projected into the Kinect v2 depth camera (pixels, with a score channel) in
    the ``coco13`` layout (:func:`image2d_keypoints`).
    """
    from skelloc.io.pkummd import (
        PKUMMD_CLASSES,
        PKUMMD_FPS,
        read_pkummd_labels,
        read_pkummd_skeleton,
        read_pkummd_split,
    )

    src = Path(src)
    if not src.is_dir():
        raise SkeletonFormatError("not a folder", path=src)
    found = _find_pkummd(src, Path(split_file) if split_file else None)
    splits: dict[str, str] = {}
    if found.split_file is not None:
        for name, vids in read_pkummd_split(found.split_file).items():
            splits.update(dict.fromkeys(vids, name))
    dst_fps = float(fps or PKUMMD_FPS)
    if dst_fps <= 0 or dst_fps > PKUMMD_FPS:
        raise ConfigError(f"fps must be in (0, {PKUMMD_FPS:g}], got {fps}")
    extra: dict[str, Any] = {"source_fps": PKUMMD_FPS}
    if image2d:
        from skelloc.skeleton.project import KINECT_V2_DEPTH

        extra.update(confidence=True, camera=asdict(KINECT_V2_DEPTH))
    writer = CacheWriter(out, dataset="pkummd", fps=dst_fps,
                         layout="coco13" if image2d else "ntu25",
                         classes=PKUMMD_CLASSES, dtype="float32" if image2d else dtype,
                         extra=extra)
    vids = sorted(set(found.skeletons) & set(found.labels))
    if splits:
        vids = [v for v in vids if v in splits]
    missing = sorted(set(found.skeletons) ^ set(found.labels))
    if missing:
        logger.warning("%d videos lack a skeleton or a label file and are skipped: %s",
                       len(missing), ", ".join(missing[:10]))
    if not vids:
        raise SkeletonFormatError("no video has both a skeleton and a label file", path=src)
    items: Iterable[str] = vids
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(vids, desc="prepare pkummd", unit="video")
    for vid in items:
        if found.kind == "arrays":
            from skelloc.io.arrays import read_npy

            joints = read_npy(found.skeletons[vid], fps=PKUMMD_FPS).joints
        else:
            joints = read_pkummd_skeleton(found.skeletons[vid]).joints
        t = joints.shape[0]
        labels = read_pkummd_labels(found.labels[vid], index_base=index_base,
                                    inclusive_end=inclusive_end, num_frames=t)
        for inst in labels:
            if not 1 <= inst.label <= len(PKUMMD_CLASSES):
                raise SkeletonFormatError(f"class {inst.label} outside 1..51",
                                          path=found.labels[vid])
        segs = [[inst.label - 1, inst.start, inst.end] for inst in labels]
        if image2d:
            joints = image2d_keypoints(joints)
        joints = _resample(joints, PKUMMD_FPS, dst_fps)
        segs = resample_segments(segs, PKUMMD_FPS, dst_fps, joints.shape[0])
        writer.add(CacheVideo(vid, int(joints.shape[0]), vid[:4], splits.get(vid, "train"),
                              segs), joints)
    chosen = assign_validation(writer.videos, val_performances=val_performances,
                               val_fraction=val_fraction, seed=seed)
    writer.extra["val_performances"] = chosen
    path = writer.close()
    logger.info("wrote %s: %d videos (%d val performances)", path, len(writer.videos),
                len(chosen))
    return path




def image2d_keypoints(joints: np.ndarray) -> np.ndarray:
    """Kinect v2 camera-space NTU-25 joints ``(T, M, 25, 3)`` -> 2D ``coco13`` keypoints
    ``(T, M, 13, 3)``: pixels of the 512 x 424 depth camera and a score (1 tracked, 0
    missing), as a pose estimator run on that camera's image would give them."""
    from skelloc.skeleton.convert import convert_layout
    from skelloc.skeleton.project import KINECT_V2_DEPTH, project_to_image

    image = project_to_image(joints, KINECT_V2_DEPTH)
    return convert_layout(image, "ntu25", "coco13", confidence=True)


# --------------------------------------------------------------------------- NTU RGB+D
#: training performers of the NTU-60 / NTU-120 cross-subject benchmarks
NTU_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45,
                  46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84,
                  85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103)


def ntu_split(meta: dict[str, int], benchmark: str) -> str:
    """``train``/``test`` of an NTU clip: ``xsub`` (performers), ``xview`` (cameras 2, 3
    train), ``xset`` (even setups train)."""
    if benchmark == "xsub":
        return "train" if meta["performer"] in NTU_XSUB_TRAIN else "test"
    if benchmark == "xview":
        return "train" if meta["camera"] in (2, 3) else "test"
    if benchmark == "xset":
        return "train" if meta["setup"] % 2 == 0 else "test"
    raise ConfigError(f"benchmark must be xsub, xview or xset, got {benchmark!r}")


def prepare_ntu(src: Path | str, out: Path | str, *, benchmark: str = "xsub",
                num_classes: int | None = None, fps: float | None = None,
                val_fraction: float | None = None, seed: int = 0, dtype: str = "float16",
                progress: bool = False) -> tuple[Path, list[tuple[Path, str]]]:
    """NTU RGB+D ``.skeleton`` files under ``src`` -> a cache of trimmed clips (one segment
    covering each clip; classes ``A001``.. up to 60 or 120).  The performance is the clip name
    without its camera (``S001P001R001A001``), so ``val_fraction`` keeps the views of one
    performance together.  Unreadable files are skipped; returns ``(dataset.json, failures)``.
    """
    from skelloc.io.ntu import NTU_FPS, parse_ntu_name, read_ntu_skeleton

    files = sorted(Path(src).rglob("*.skeleton"))
    if not files:
        raise SkeletonFormatError("no *.skeleton files", path=Path(src))
    ntu_split({"performer": 1, "camera": 1, "setup": 1}, benchmark)  # validates the name
    actions = [parse_ntu_name(f.name).get("action", 0) for f in files]
    k = num_classes or (60 if max(actions) <= 60 else 120)
    dst_fps = float(fps or NTU_FPS)
    writer = CacheWriter(out, dataset="ntu", fps=dst_fps, layout="ntu25",
                         classes=[f"A{i:03d}" for i in range(1, k + 1)], dtype=dtype,
                         extra={"benchmark": benchmark, "source_fps": NTU_FPS})
    failures: list[tuple[Path, str]] = []
    items: Iterable[Path] = files
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(files, desc="prepare ntu", unit="file")
    for f in items:
        meta = parse_ntu_name(f.name)
        if not meta or not 1 <= meta["action"] <= k:
            failures.append((f, "name is not SsssCcccPpppRrrrAaaa with a known action"))
            continue
        try:
            joints = _resample(read_ntu_skeleton(f).joints, NTU_FPS, dst_fps)
        except SkeletonFormatError as err:
            failures.append((f, str(err)))
            continue
        name = f.name.split(".")[0]
        perf = name[:4] + name[8:]
        writer.add(CacheVideo(name, int(joints.shape[0]), perf, ntu_split(meta, benchmark),
                              [[meta["action"] - 1, 0, int(joints.shape[0])]]), joints)
    writer.extra["val_performances"] = assign_validation(writer.videos,
                                                         val_fraction=val_fraction, seed=seed)
    return writer.close(), failures


# --------------------------------------------------------------------------- BABEL
def prepare_babel(annotations: Mapping[str, Path | str], joints_dir: Path | str, out: Path | str, *,
                  subset: int | None = None, joints_fps: float | None = None,
                  max_frames: int | None = 1000, val_fraction: float | None = None,
                  seed: int = 0, dtype: str = "float16") -> Path:
    """BABEL labels + your own joint arrays -> a cache at 30 fps.

    ``annotations`` maps a split to a BABEL JSON (the paper's protocol: ``{"train":
    "train.json", "test": "val.json"}``).  Joints are ``<joints_dir>/<babel_sid>.npy|.npz``
    ``(T, 25, 3)``/``(T, M, 25, 3)`` in NTU order, at ``joints_fps`` (or the file's own / 30)
    and resampled to 30 fps.  With ``subset`` (1, 2, 3) the frames take the subset's four
    classes (overlaps resolved deterministically, see :mod:`skelloc.io.babel`), sequences over
    ``max_frames`` or without a subset frame are dropped, and segments are the label runs;
    without it, every act_cat of a frame-annotation segment is a (possibly overlapping) segment.
    """
    from skelloc.io.babel import (
        BABEL_FPS,
        BABEL_SUBSETS,
        frame_labels,
        label_runs,
        load_babel,
        subset_frame_labels,
    )
    from skelloc.io.registry import read

    if subset is not None and subset not in BABEL_SUBSETS:
        raise ConfigError(f"subset must be 1, 2 or 3, got {subset}")
    per_split = {split: load_babel(p) for split, p in sorted(annotations.items())}
    if subset is not None:
        classes = list(BABEL_SUBSETS[subset])
    else:
        classes = sorted({c for seqs in per_split.values() for s in seqs.values()
                          for seg in s.segments for c in seg.act_cat})
    index = {c: i for i, c in enumerate(classes)}
    writer = CacheWriter(out, dataset=f"babel{'' if subset is None else subset}", fps=BABEL_FPS,
                         layout="ntu25", classes=classes, dtype=dtype,
                         extra={"subset": subset, "max_frames": max_frames,
                                "overlap_resolution": "first class in subset order"})
    jdir = Path(joints_dir)
    for split, seqs in per_split.items():
        for sid, seq in sorted(seqs.items()):
            if not seq.dense:
                continue
            path = next((jdir / f"{sid}{ext}" for ext in (".npy", ".npz")
                         if (jdir / f"{sid}{ext}").is_file()), None)
            if path is None:
                logger.warning("no joints for babel_sid %s in %s; skipped", sid, jdir)
                continue
            opts: dict[str, Any] = {"layout": "ntu25"}
            if joints_fps is not None:
                opts["fps"] = joints_fps
            js = read(path, **opts)
            joints = _resample(js.joints, js.fps, BABEL_FPS)
            t = int(joints.shape[0])
            if max_frames is not None and t > max_frames:
                continue
            labels = frame_labels(seq, t, BABEL_FPS)
            if subset is not None:
                segs = label_runs(subset_frame_labels(labels, subset), len(classes))
                if not segs:
                    continue
            else:
                segs = []
                for seg in seq.segments:
                    s = max(0, math.ceil(seg.start_t * BABEL_FPS - 1e-9))
                    e = min(t, math.ceil(seg.end_t * BABEL_FPS - 1e-9))
                    segs.extend([index[c], s, e] for c in seg.act_cat if e > s)
            writer.add(CacheVideo(sid, t, sid, split, segs), joints)
    writer.extra["val_performances"] = assign_validation(writer.videos,
                                                         val_fraction=val_fraction, seed=seed)
    return writer.close()
