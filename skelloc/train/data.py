"""Training data: ``skelloc prepare`` caches (or folders of arrays), splits, windows, batches.

A cache is read through :class:`SkeletonCache`; videos are brought to the model's input spec
with :func:`skelloc.inference.validate.prepare_input` (the same preprocessing as inference) and
kept in memory as ``(C, T, V, M)`` tensors. Batches are assembled by plain tensor indexing in
the training process, so the order of everything is a function of the seed and the step.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelloc.errors import ConfigError, InputError, SkeletonFormatError
from skelloc.io.prepare import load_cache
from skelloc.skeleton.sequence import assume_fps

__all__ = [
    "IGNORE_INDEX",
    "VideoRecord",
    "SkeletonCache",
    "PreparedVideo",
    "split_train_val",
    "labelled_subset",
    "frame_labels",
    "frame_targets",
    "prepare_videos",
    "plan_windows",
    "collate_windows",
    "collate_whole",
]

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # frame label of padded frames: never in the loss or the metric
IGNORE_TARGET = -1.0  # multi-hot target value of padded frames (multi-label training)


@dataclass
class VideoRecord:
    id: str
    num_frames: int
    performance: str | None = None
    split: str | None = None
    segments: list[tuple[int, int, int]] = field(default_factory=list)  # (label, start, end)


class SkeletonCache:
    """A training cache (``dataset.json`` + ``skeletons/<id>.npy``) or a folder of ``.npy``
    arrays ``(T, M, V, C)`` (unlabelled; for pretraining)."""

    def __init__(self, path: str | Path, *, fps: float | None = None,
                 layout: str = "ntu25") -> None:
        self.root = Path(path)
        if not str(path) or not self.root.is_dir():
            raise ConfigError(f"data path {str(path)!r} is not a directory "
                              "(set data.path or pass --data)")
        index = self.root / "dataset.json"
        if index.is_file():
            meta = load_cache(index)  # the writer's own check of format and version
            rate = meta.get("fps", fps)
            self.fps = assume_fps() if rate is None else float(rate)
            self.layout = str(meta.get("layout", layout))
            self.classes: list[str] = [str(c) for c in meta.get("classes", [])]
            self.dataset = str(meta.get("dataset", self.root.name))
            self.confidence = bool(meta.get("confidence", False))
            self.skeleton_dir = self.root / "skeletons"
            self.videos = [
                VideoRecord(
                    id=str(v["id"]),
                    num_frames=int(v["num_frames"]),
                    performance=None if v.get("performance") is None else str(v["performance"]),
                    split=v.get("split"),
                    segments=[(int(a), int(b), int(c)) for a, b, c in v.get("segments", [])],
                )
                for v in meta.get("videos", [])
            ]
            self.labelled = True
        else:
            files = sorted(self.root.glob("*.npy"))
            if not files:
                raise ConfigError(f"{self.root} holds neither dataset.json nor .npy arrays")
            self.fps = assume_fps() if fps is None else float(fps)
            self.layout, self.classes = layout, []
            self.confidence = False
            self.dataset = self.root.name
            self.skeleton_dir = self.root
            self.videos = [VideoRecord(id=f.stem, num_frames=int(np.load(f, mmap_mode="r").shape[0]))
                           for f in files]
            self.labelled = False
        self.by_id = {v.id: v for v in self.videos}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def load(self, video_id: str) -> np.ndarray:
        path = self.skeleton_dir / f"{video_id}.npy"
        if not path.is_file():
            raise SkeletonFormatError("skeleton array missing", path=path)
        arr = np.load(path)
        if arr.ndim == 3:  # (T, V, C): one person
            arr = arr[:, None]
        if arr.ndim != 4:
            raise SkeletonFormatError(f"expected (T, M, V, C), got shape {arr.shape}", path=path)
        return arr.astype(np.float32)

    def select(self, split: str) -> list[VideoRecord]:
        return [v for v in self.videos if v.split == split]


def split_train_val(cache: SkeletonCache, train_split: str = "train", val_split: str = "val",
                    val_fraction: float = 0.15, seed: int = 0,
                    max_frames: int | None = None) -> tuple[list[VideoRecord], list[VideoRecord]]:
    """Training and validation videos.

    The cache's own ``val`` split wins; otherwise a seeded ``val_fraction`` of the performances
    (all views of one performance on the same side) is carved out of the training videos.
    Videos whose split is ``None`` count as training videos; ``test`` videos are never used.
    """
    videos = [v for v in cache.videos if max_frames is None or v.num_frames <= max_frames]
    val = [v for v in videos if v.split == val_split]
    train = [v for v in videos if v.split in (train_split, None)]
    if val or val_fraction <= 0:
        return train, val
    groups = sorted({v.performance or v.id for v in train})
    n_val = min(len(groups) - 1, max(1, round(len(groups) * val_fraction))) if len(groups) > 1 else 0
    chosen = set(random.Random(seed).sample(groups, n_val))
    return ([v for v in train if (v.performance or v.id) not in chosen],
            [v for v in train if (v.performance or v.id) in chosen])


def labelled_subset(videos: Sequence[VideoRecord], fraction: float, seed: int) -> list[VideoRecord]:
    """A seeded ``fraction`` of the videos (at least one), in their original order."""
    if fraction >= 1.0:
        return list(videos)
    k = max(1, round(len(videos) * fraction))
    keep = set(random.Random(seed).sample(range(len(videos)), k))
    return [v for i, v in enumerate(videos) if i in keep]


def frame_labels(segments: Sequence[tuple[int, int, int]], num_frames: int,
                 background: int) -> np.ndarray:
    """Per-frame class indices (int64); background where no segment lies; a later segment
    overwrites an earlier one where they overlap (a deterministic rule)."""
    out = np.full(num_frames, background, dtype=np.int64)
    for label, start, end in segments:
        if not 0 <= label < background:
            raise InputError(f"segment label {label} outside 0..{background - 1}")
        out[max(0, start):max(0, min(end, num_frames))] = label
    return out


def frame_targets(segments: Sequence[tuple[int, int, int]], num_frames: int,
                  background: int) -> np.ndarray:
    """Multi-hot per-frame targets ``(T, K+1)`` float32: every segment covering a frame sets its
    class (overlaps all kept); the background column is 1 where no segment lies."""
    out = np.zeros((num_frames, background + 1), dtype=np.float32)
    for label, start, end in segments:
        if not 0 <= label < background:
            raise InputError(f"segment label {label} outside 0..{background - 1}")
        out[max(0, start):max(0, min(end, num_frames)), label] = 1.0
    out[:, background] = out[:, :background].max(axis=1, initial=0.0) == 0
    return out


@dataclass
class PreparedVideo:
    id: str
    joints: torch.Tensor  # (C, T, V, M) float32 at the model's frame rate
    labels: torch.Tensor | None  # (T,) int64, (T, K+1) float32 multi-hot, or None
    record: VideoRecord

    @property
    def num_frames(self) -> int:
        return self.joints.shape[1]


def _resample_labels(labels: np.ndarray, src_fps: float, dst_fps: float, length: int) -> np.ndarray:
    """Nearest source frame for each target frame."""
    if math.isclose(src_fps, dst_fps):
        return labels[:length]
    idx = np.minimum(np.round(np.arange(length) * (src_fps / dst_fps)).astype(np.int64),
                     len(labels) - 1)
    return labels[idx]


def prepare_videos(cache: SkeletonCache, videos: Sequence[VideoRecord], spec: Any,
                   with_labels: bool = True, multilabel: bool = False) -> list[PreparedVideo]:
    """Load and bring videos to the model's input spec (layout, persons, fps, normalisation);
    labels are class indices, or multi-hot :func:`frame_targets` with ``multilabel``."""
    from skelloc.inference.validate import prepare_input
    from skelloc.skeleton.sequence import SkeletonSequence

    if with_labels and not cache.labelled:
        raise ConfigError(f"{cache.root} has no labels (no dataset.json); finetuning needs them")
    out = []
    for rec in videos:
        seq = SkeletonSequence(cache.load(rec.id), layout=cache.layout, fps=cache.fps,
                               meta={"confidence": cache.confidence})
        prepared = prepare_input(seq, spec, nonfinite="interpolate")
        joints = torch.from_numpy(np.ascontiguousarray(prepared.joints)).permute(3, 0, 2, 1)
        labels = None
        if with_labels:
            make = frame_targets if multilabel else frame_labels
            lab = make(rec.segments, seq.num_frames, cache.num_classes)
            lab = _resample_labels(lab, cache.fps, float(spec.fps), joints.shape[1])
            labels = torch.from_numpy(lab)
        out.append(PreparedVideo(rec.id, joints.contiguous(), labels, rec))
    logger.info("prepared %d videos (%d frames)", len(out), sum(v.num_frames for v in out))
    return out


def plan_windows(lengths: Sequence[int], window: int, stride: int | None,
                 generator: torch.Generator | None = None) -> list[tuple[int, int]]:
    """(video index, start) of windows tiling each video; with a generator, a random shift of
    the tiling per video. A video shorter than the window gives one window at 0 (padded)."""
    stride = stride or window
    out = []
    for i, t in enumerate(lengths):
        if t <= window:
            out.append((i, 0))
            continue
        n = 1 + (t - window) // stride
        slack = (t - window) - (n - 1) * stride
        shift = 0
        if generator is not None and slack > 0:
            shift = int(torch.randint(0, slack + 1, (1,), generator=generator))
        out.extend((i, shift + k * stride) for k in range(n))
    return out


def collate_windows(videos: Sequence[PreparedVideo], items: Sequence[tuple[int, int]],
                    length: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Stack windows into (N, C, L, V, M); labels (N, L) with IGNORE_INDEX on padding, or
    multi-hot (N, L, K+1) with IGNORE_TARGET on padding."""
    c, _, v, m = videos[0].joints.shape
    x = torch.zeros(len(items), c, length, v, m)
    first = videos[0].labels
    y: torch.Tensor | None = None
    if first is not None and first.ndim == 2:
        y = torch.full((len(items), length, first.shape[1]), IGNORE_TARGET)
    elif first is not None:
        y = torch.full((len(items), length), IGNORE_INDEX, dtype=torch.long)
    for n, (i, start) in enumerate(items):
        clip = videos[i].joints[:, start:start + length]
        x[n, :, :clip.shape[1]] = clip
        if y is not None:
            lab = videos[i].labels[start:start + length]  # type: ignore[index]
            y[n, :lab.shape[0]] = lab
    return x, y


def collate_whole(videos: Sequence[PreparedVideo],
                  indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Whole videos zero-padded to the longest one in the batch."""
    length = max(videos[i].num_frames for i in indices)
    return collate_windows(videos, [(i, 0) for i in indices], length)
