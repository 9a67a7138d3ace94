"""Training caches for UTKinect-Action3D and BABEL-TAL on CMU motion capture.

Both produce the cache of :mod:`skelloc.io.prepare` (``dataset.json`` + ``skeletons/``) at
30 fps; a cache's *performance* is the subject (``s01`` for UTKinect, the CMU subject ``01``
for BABEL-TAL), so validation splits keep each subject's sequences together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from skelloc.errors import ConfigError, SkeletonFormatError
from skelloc.io.prepare import (
    CacheVideo,
    CacheWriter,
    _resample,
    assign_validation,
    resample_segments,
)

__all__ = ["UTKINECT_LABEL_FILES", "prepare_babel_tal", "prepare_utkinect"]

logger = logging.getLogger(__name__)

#: label-file variants of UTKinect-Action3D: the official file and the corrected one
UTKINECT_LABEL_FILES = {"official": "actionLabel.txt", "modified": "actionLabel_modified.txt"}


def _labels_path(src: Path, labels: str | Path) -> Path:
    name = UTKINECT_LABEL_FILES.get(str(labels))
    path = src / name if name is not None else Path(labels)
    if not path.is_file():
        raise SkeletonFormatError("label file not found (labels = 'modified', 'official' or a "
                                  "path)", path=path)
    return path


def prepare_utkinect(src: Path | str, out: Path | str, *, labels: str | Path = "modified",
                     layout: str = "ntu25", val_subjects: Iterable[str] | None = None,
                     val_fraction: float | None = None, seed: int = 0,
                     dtype: str = "float16") -> Path:
    """UTKinect-Action3D (``src/joints/joints_sXX_eYY.txt`` + a label file) -> a cache.

    Joints go onto the 30 fps frame-id timeline (:func:`skelloc.io.utkinect.read_utkinect`)
    and are converted to ``layout`` (``ntu25`` by default, ``kinect_v1_20`` keeps them).
    ``labels`` is ``"modified"`` (``actionLabel_modified.txt``, the corrected file; default),
    ``"official"`` (``actionLabel.txt``) or a path.  Every sequence is ``train`` unless its
    subject (``s01``..) is in ``val_subjects`` or drawn by ``val_fraction``.
    """
    from skelloc.io.utkinect import (
        UTKINECT_CLASSES,
        UTKINECT_FPS,
        read_utkinect,
        read_utkinect_labels,
        utkinect_segments,
    )
    from skelloc.skeleton.convert import convert_layout
    from skelloc.skeleton.layouts import get_layout

    src = Path(src)
    files = sorted((src / "joints").glob("joints_s*_e*.txt")) or sorted(
        src.glob("joints_s*_e*.txt"))
    if not files:
        raise SkeletonFormatError("no joints_sXX_eYY.txt files (in joints/ or the folder)",
                                  path=src)
    label_path = _labels_path(src, labels)
    table = read_utkinect_labels(label_path)
    dst = get_layout(layout).name
    writer = CacheWriter(out, dataset="utkinect", fps=UTKINECT_FPS, layout=dst,
                         classes=UTKINECT_CLASSES, dtype=dtype,
                         extra={"labels": label_path.name, "source_layout": "kinect_v1_20",
                                "timeline": "frame ids at 30 fps, frame 0 = first id"})
    first_ids: dict[str, int] = {}
    for f in files:
        seq = read_utkinect(f)
        name = str(seq.meta.get("sequence_name", f.stem))
        if name not in table:
            logger.warning("%s: no labels for %s in %s; skipped", f, name, label_path)
            continue
        segs = utkinect_segments(table[name], int(seq.meta["first_frame_id"]), seq.num_frames,
                                 path=label_path)
        joints = convert_layout(seq.joints, "kinect_v1_20", dst)
        first_ids[name] = int(seq.meta["first_frame_id"])
        writer.add(CacheVideo(name, seq.num_frames, name.split("_")[0], "train", segs), joints)
    if not writer.videos:
        raise SkeletonFormatError("no joints file has labels", path=src)
    writer.extra["first_frame_id"] = first_ids
    writer.extra["val_performances"] = assign_validation(
        writer.videos, val_performances=val_subjects, val_fraction=val_fraction, seed=seed)
    return writer.close()


def prepare_babel_tal(src: Path | str, out: Path | str, *, actions: str | Path | None = None,
                      val_subjects: Iterable[str] | None = None,
                      val_fraction: float | None = None, seed: int = 0, units: str = "auto",
                      dtype: str = "float16") -> Path:
    """BABEL-TAL ground truth + retargeted CMU BVH files -> a multi-label cache at 30 fps.

    ``src`` holds ``BT_action.json`` (or ``actions=``), ``action_mapping.txt`` (optional; the
    BT20 names otherwise), ``amass_to_babel.json`` and ``bvh/SSS_TT.bvh``.  Times become frames
    of each motion (``v / 99 × frames``, :func:`skelloc.io.babel_tal.bt_segments`), overlaps
    kept; the motion is mapped to ``ntu25`` and resampled to 30 fps.  Entries of the
    benchmark's ``training`` subset are ``train``, others ``test``; ``val_subjects`` (CMU
    subjects, ``"01"``..) or ``val_fraction`` move whole subjects to ``val``.
    """
    from skelloc.io.babel_tal import (
        BT20_CLASSES,
        bt_segments,
        cmu_bvh_name,
        load_amass_to_babel,
        load_bt_actions,
        read_bt_classes,
    )
    from skelloc.io.bvh import read_bvh

    src = Path(src)
    mapping = src / "action_mapping.txt"
    classes = read_bt_classes(mapping) if mapping.is_file() else list(BT20_CLASSES)
    entries = load_bt_actions(Path(actions) if actions else src / "BT_action.json",
                              num_classes=len(classes))
    motions = load_amass_to_babel(src / "amass_to_babel.json")
    fps = 30.0
    writer = CacheWriter(out, dataset="babel-tal", fps=fps, layout="ntu25", classes=classes,
                         dtype=dtype, extra={"multilabel": True, "source": "CMU BVH",
                                             "time_convention": "value / 99 x motion frames"})
    sids: dict[str, str] = {}
    truncated: list[str] = []
    for sid, entry in sorted(entries.items(), key=lambda kv: int(kv[0])):
        if sid not in motions:
            logger.warning("BABEL sequence %s has no motion in amass_to_babel.json; skipped", sid)
            continue
        subject, trial = motions[sid]
        path = src / "bvh" / cmu_bvh_name(subject, trial)
        if not path.is_file():
            logger.warning("%s: motion file missing; BABEL sequence %s skipped", path, sid)
            continue
        seq = read_bvh(path, units=units)
        segs = bt_segments(entry, seq.num_frames)
        joints = _resample(seq.joints, seq.fps, fps)
        segs = resample_segments(segs, seq.fps, fps, int(joints.shape[0]))
        vid = path.stem
        split = "train" if entry.subset in ("training", "train") else "test"
        writer.add(CacheVideo(vid, int(joints.shape[0]), f"{subject:02d}", split, segs), joints)
        sids[vid] = sid
        if entry.maybe_truncated:
            truncated.append(vid)
    if not writer.videos:
        raise ConfigError(f"no BABEL-TAL entry of {src} could be joined to a motion file")
    writer.extra["babel_sid"] = sids
    writer.extra["maybe_truncated"] = truncated
    writer.extra["val_performances"] = assign_validation(
        writer.videos, val_performances=val_subjects, val_fraction=val_fraction, seed=seed)
    return writer.close()
