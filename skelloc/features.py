"""The one feature-export pipeline: sequences -> ``<video>.npy`` features + TAD annotations.

:func:`export_features` is what ``skelloc extract`` (files) and
:func:`skelloc.train.extract_dataset_features` (a training cache, ``skelloc train features``)
both run: each :class:`FeatureInput` is read inside the loop (its typed errors are collected per
input, the others still written), its frame features are written atomically as one float32
``[T, D]`` ``.npy`` (ActionFormer's and OpenTAD's ``LoadFeats(feat_format="npy")``), and
``annotations.json``, ``class_map.txt`` and ``missing_files.txt`` are written once for all of
them (:func:`skelloc.io.write_tad_annotations`). It needs no training extra; sharding across
processes is by ``rank`` / ``world_size`` passed in (the caller owns the process group).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np

from skelloc.api import extract_features, resolve_model
from skelloc.errors import ConfigError, SkellocError
from skelloc.inference.validate import NonFinitePolicy
from skelloc.io.writers import FeatureRecord, write_features, write_tad_annotations
from skelloc.skeleton.sequence import SkeletonSequence

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["FailedInput", "FeatureExport", "FeatureInput", "export_features"]

logger = logging.getLogger(__name__)

#: a ground-truth instance: ``(label, start, end_exclusive)`` in frames of the input
SegmentSpec = tuple[str, int, int]
Segments = Union[Sequence[SegmentSpec], Callable[[SkeletonSequence], Sequence[SegmentSpec]]]

#: errors that fail one input (and not the export): typed input errors, unreadable files, a
#: label outside the class list
INPUT_ERRORS = (SkellocError, OSError, IndexError)


@dataclass(frozen=True)
class FeatureInput:
    """One sequence to export.

    ``video`` is the output name (``<video>.npy``, the annotation key; unique among the
    inputs). ``load()`` returns the sequence; it runs inside the export, so what it raises is
    reported for this input alone. ``segments`` is the ground truth ``(label, start,
    end_exclusive)`` in the input's frames, or a function of the loaded sequence giving it
    (e.g. a label file clipped to the sequence's frames). ``subset`` is the annotation's
    subset name (ActionFormer / OpenTAD: ``training``, ``validation``, ``testing``).
    ``source`` names the input in messages (default: ``video``). ``num_frames`` and ``fps``,
    when known, spare loading a sequence whose features are kept (``overwrite=False``) or
    were written by another process.
    """

    video: str
    load: Callable[[], SkeletonSequence]
    segments: Segments = ()
    subset: str = "training"
    source: str = ""
    num_frames: int | None = None
    fps: float | None = None

    @property
    def name(self) -> str:
        return self.source or self.video


@dataclass(frozen=True)
class FailedInput:
    """An input that was not exported: ``reason`` is the error's first line."""

    input: FeatureInput
    reason: str
    error: BaseException


@dataclass
class FeatureExport:
    """What one :func:`export_features` call did.

    ``records`` are the videos this process wrote or kept, in input order; ``failed`` the
    inputs it could not export; ``annotations`` the ``annotations.json`` path (``None`` on a
    process other than rank 0).
    """

    out_dir: Path
    records: list[FeatureRecord] = field(default_factory=list)
    failed: list[FailedInput] = field(default_factory=list)
    annotations: Path | None = None

    @property
    def paths(self) -> list[Path]:
        """The ``.npy`` files of :attr:`records`."""
        return [self.out_dir / f"{r.video}.npy" for r in self.records]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _stored_shape(path: Path) -> tuple[int, int] | None:
    """``(rows, dim)`` of an existing ``[T, D]`` feature file (its header only), else None."""
    if not path.is_file():
        return None
    try:
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (ValueError, OSError):
        return None
    return (int(shape[0]), int(shape[1])) if len(shape) == 2 else None


def _record(item: FeatureInput, shape: tuple[int, int], seq: SkeletonSequence | None = None,
            stride: float | None = None) -> FeatureRecord:
    """The annotation record of ``item``; its sequence is loaded only when ``seq`` is not
    given and the input's frame count, rate or segments need it."""
    if seq is None and (callable(item.segments) or item.num_frames is None or item.fps is None):
        seq = item.load()
    segments: Sequence[SegmentSpec]
    if seq is None:
        num_frames, fps = int(item.num_frames or 0), float(item.fps or 0.0)
        segments = () if callable(item.segments) else item.segments
    else:
        num_frames, fps = seq.num_frames, float(seq.fps)
        segments = item.segments(seq) if callable(item.segments) else item.segments
    return FeatureRecord(item.video, num_frames, fps, shape[0], shape[1], item.subset,
                         [(str(a), int(b), int(c)) for a, b, c in segments], stride)


def export_features(
    inputs: Iterable[FeatureInput],
    out_dir: str | Path,
    model: Any = None,
    *,
    level: Literal["fused", "encoder"] | None = None,
    native: bool = False,
    classes: Sequence[str] | None = None,
    overwrite: bool = True,
    rank: int = 0,
    world_size: int = 1,
    barrier: Callable[[], None] | None = None,
    device: str | torch.device | None = None,
    nonfinite: NonFinitePolicy = "error",
    progress: bool = False,
    on_failure: Callable[[FailedInput], None] | None = None,
) -> FeatureExport:
    """Write ``out_dir/<video>.npy`` frame features for every input, and their annotations.

    Features are :func:`skelloc.extract_features` of ``model`` (a ``Localizer``, a name or
    path, ``None`` for the bundled default; resolved once): ``(T_in, D)`` at the input's frames
    at ``level``, or with ``native=True`` the encoder's rows at its own stride (``level`` is
    then ``"encoder"``; the stride goes into the annotations). Every file is written atomically. An input whose loader, features
    or segments raise a skelloc error, an ``OSError`` or an ``IndexError`` is reported in
    ``failed`` (and to ``on_failure`` as it happens) and the others are written.

    With ``overwrite=False`` an existing ``[T, D]`` file is kept (its shape read from the
    ``.npy`` header; its stride derived from the row count). Process ``rank`` of
    ``world_size`` takes every ``world_size``-th input; ``barrier`` (e.g. the process
    group's) is called when its share is done, and then rank 0 writes ``annotations.json``,
    ``class_map.txt`` and ``missing_files.txt`` covering every input (another process's video
    is read back from its file; one without a file is listed as missing). ``classes`` is the
    class list of the annotations (default: the sorted labels of the segments).
    ``progress`` shows a tqdm bar.
    """
    items = list(inputs)
    names = [item.video for item in items]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"feature inputs need unique video names; repeated: {', '.join(dupes)}")
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank must be in [0, {world_size}), got {rank}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = resolve_model(model)
    result = FeatureExport(out)
    mine = items[rank::world_size]
    iterator: Iterable[FeatureInput] = mine
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(mine, desc="extract", unit="file")
    for item in iterator:
        try:
            result.records.append(_export_one(item, out, net, level=level, native=native,
                                              overwrite=overwrite, device=device,
                                              nonfinite=nonfinite))
        except INPUT_ERRORS as err:
            result.failed.append(FailedInput(item, _first_line(err), err))
            logger.info("%s: not exported: %s", item.name, result.failed[-1].reason)
            if on_failure is not None:
                on_failure(result.failed[-1])
    logger.info("rank %d exported features of %d videos to %s", rank, len(result.records), out)
    if barrier is not None:
        barrier()
    if rank == 0:
        records, missing = _all_records(items, result, out, world_size)
        result.annotations = write_tad_annotations(out, records, classes, missing=missing)
    return result


def _export_one(item: FeatureInput, out: Path, net: Any, *,
                level: Literal["fused", "encoder"] | None, native: bool, overwrite: bool,
                device: str | torch.device | None, nonfinite: NonFinitePolicy) -> FeatureRecord:
    path = out / f"{item.video}.npy"
    shape = None if overwrite else _stored_shape(path)
    if shape is not None:
        return _record(item, shape)
    seq = item.load()
    stride: float | None = None
    if native:
        raw, stride = extract_features(seq, net, level="encoder", native=True, device=device,
                                       nonfinite=nonfinite)
        feats = np.asarray(raw)
    else:
        feats = np.asarray(extract_features(seq, net, level=level, device=device,
                                            nonfinite=nonfinite))
    if feats.ndim != 2:
        raise SkellocError(f"features of shape {feats.shape}, expected [T, D]")
    record = _record(item, (int(feats.shape[0]), int(feats.shape[1])), seq, stride)
    write_features(out, item.video, feats)
    return record


def _all_records(items: list[FeatureInput], result: FeatureExport, out: Path,
                 world_size: int) -> tuple[list[FeatureRecord], list[str]]:
    """Records of every input in input order, and the videos without features."""
    own = {r.video: r for r in result.records}
    failed = {f.input.video for f in result.failed}
    records: list[FeatureRecord] = []
    missing: list[str] = []
    for k, item in enumerate(items):
        if item.video in own:
            records.append(own[item.video])
            continue
        shape = None if item.video in failed or k % world_size == 0 else _stored_shape(
            out / f"{item.video}.npy")
        if shape is None:
            missing.append(item.video)
            continue
        try:  # another process's video: read back
            records.append(_record(item, shape))
        except INPUT_ERRORS as err:
            logger.warning("%s: features written, annotation not readable: %s", item.name,
                           _first_line(err))
            missing.append(item.video)
    return records, missing
