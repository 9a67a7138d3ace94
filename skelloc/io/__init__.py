"""Skeleton file formats in and out.

- :func:`read` reads any registered format into a
  :class:`~skelloc.skeleton.sequence.SkeletonSequence` (``.npy``/``.npz``, NTU ``.skeleton``,
  PKU-MMD text, BVH, MMPose/OpenPose/MediaPipe output); :func:`register_reader` adds
  third-party formats.
- Label and annotation formats: PKU-MMD label files (:mod:`skelloc.io.pkummd`), BABEL JSON
  (:mod:`skelloc.io.babel`).
- Writers: segments as ActivityNet JSON / CSV / PKU-MMD lines, features for ActionFormer and
  OpenTAD (:mod:`skelloc.io.writers`).
- Training caches: :mod:`skelloc.io.prepare`.
"""

from __future__ import annotations

from skelloc.io.registry import detect_format, list_formats, read, register_reader

__all__ = ["read", "register_reader", "list_formats", "detect_format"]
