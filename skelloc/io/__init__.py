"""Skeleton file formats in and out.

- :func:`read` reads any registered format into a
  :class:`~skelloc.skeleton.sequence.SkeletonSequence` (``.npy``/``.npz``, NTU ``.skeleton``,
  PKU-MMD text, BVH, MMPose/OpenPose/MediaPipe output); :func:`register_reader` adds
  third-party formats.
- Label and annotation formats: PKU-MMD label files and class lists (:func:`read_pkummd_labels`,
  :func:`read_pkummd_classes`, :data:`PKUMMD_CLASSES`), BABEL JSON (:mod:`skelloc.io.babel`).
- Writers: segments as ActivityNet JSON / CSV / PKU-MMD lines (files or text), features for
  ActionFormer and OpenTAD (:func:`write_features`, :func:`write_tad_annotations`).
- Training caches: ``prepare_*`` (one per dataset, and :func:`prepare_recordings` for your own
  recordings and a label table), :func:`load_cache`, :func:`read_id_list`.

Names are imported lazily, so ``import skelloc.io`` costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports

# public name -> "module" (the attribute of the same name) or "module:attribute"
_LAZY: dict[str, str] = {
    "read": "skelloc.io.registry",
    "register_reader": "skelloc.io.registry",
    "list_formats": "skelloc.io.registry",
    "detect_format": "skelloc.io.registry",
    "PKUMMD_CLASSES": "skelloc.io.pkummd",
    "PKUMMD_FPS": "skelloc.io.pkummd",
    "LabelInstance": "skelloc.io.pkummd",
    "read_pkummd_labels": "skelloc.io.pkummd",
    "write_pkummd_labels": "skelloc.io.pkummd",
    "read_pkummd_classes": "skelloc.io.pkummd",
    "read_pkummd_split": "skelloc.io.pkummd",
    "atomic_write_text": "skelloc.io.writers",
    "atomic_save_npy": "skelloc.io.writers",
    "segments_to_activitynet": "skelloc.io.writers",
    "segments_json_text": "skelloc.io.writers",
    "write_segments_json": "skelloc.io.writers",
    "read_segments_json": "skelloc.io.writers",
    "segments_csv_text": "skelloc.io.writers",
    "write_segments_csv": "skelloc.io.writers",
    "read_segments_csv": "skelloc.io.writers",
    "pkummd_class_id": "skelloc.io.writers",
    "segments_pkummd_text": "skelloc.io.writers",
    "write_segments_pkummd": "skelloc.io.writers",
    "write_segments_pkummd_folder": "skelloc.io.writers",
    "FeatureRecord": "skelloc.io.writers",
    "feature_grid": "skelloc.io.writers",
    "write_features": "skelloc.io.writers",
    "tad_annotations": "skelloc.io.writers",
    "write_tad_annotations": "skelloc.io.writers",
    "load_cache": "skelloc.io.prepare",
    "read_id_list": "skelloc.io.prepare",
    "prepare_pkummd": "skelloc.io.prepare",
    "prepare_ntu": "skelloc.io.prepare",
    "prepare_babel": "skelloc.io.prepare",
    "prepare_utkinect": "skelloc.io.prepare_domains",
    "prepare_babel_tal": "skelloc.io.prepare_domains",
    # not "prepare_labels": importing the module of that name rebinds the package attribute
    "prepare_recordings": "skelloc.io.prepare_labels:prepare_labels",
}

__all__ = [
    "PKUMMD_CLASSES",
    "PKUMMD_FPS",
    "FeatureRecord",
    "LabelInstance",
    "atomic_save_npy",
    "atomic_write_text",
    "detect_format",
    "feature_grid",
    "list_formats",
    "load_cache",
    "pkummd_class_id",
    "prepare_babel",
    "prepare_babel_tal",
    "prepare_ntu",
    "prepare_pkummd",
    "prepare_recordings",
    "prepare_utkinect",
    "read",
    "read_id_list",
    "read_pkummd_classes",
    "read_pkummd_labels",
    "read_pkummd_split",
    "read_segments_csv",
    "read_segments_json",
    "register_reader",
    "segments_csv_text",
    "segments_json_text",
    "segments_pkummd_text",
    "segments_to_activitynet",
    "tad_annotations",
    "write_features",
    "write_pkummd_labels",
    "write_segments_csv",
    "write_segments_json",
    "write_segments_pkummd",
    "write_segments_pkummd_folder",
    "write_tad_annotations",
]

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.io.pkummd import (
        PKUMMD_CLASSES,
        PKUMMD_FPS,
        LabelInstance,
        read_pkummd_classes,
        read_pkummd_labels,
        read_pkummd_split,
        write_pkummd_labels,
    )
    from skelloc.io.prepare import (
        load_cache,
        prepare_babel,
        prepare_ntu,
        prepare_pkummd,
        read_id_list,
    )
    from skelloc.io.prepare_domains import prepare_babel_tal, prepare_utkinect
    from skelloc.io.prepare_labels import prepare_labels as prepare_recordings
    from skelloc.io.registry import detect_format, list_formats, read, register_reader
    from skelloc.io.writers import (
        FeatureRecord,
        atomic_save_npy,
        atomic_write_text,
        feature_grid,
        pkummd_class_id,
        read_segments_csv,
        read_segments_json,
        segments_csv_text,
        segments_json_text,
        segments_pkummd_text,
        segments_to_activitynet,
        tad_annotations,
        write_features,
        write_segments_csv,
        write_segments_json,
        write_segments_pkummd,
        write_segments_pkummd_folder,
        write_tad_annotations,
    )

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
