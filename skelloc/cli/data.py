"""`skelloc extract` (features for ActionFormer / OpenTAD) and `skelloc prepare` (caches)."""

from __future__ import annotations

import glob
import logging
from pathlib import Path
from typing import Any, Optional

import typer

from skelloc.errors import ConfigError, InputError, SkellocError

logger = logging.getLogger(__name__)

_SKELETON_SUFFIXES = {".npy", ".npz", ".skeleton", ".txt", ".bvh", ".json", ".csv"}


def expand_inputs(inputs: list[str], format: Optional[str] = None) -> list[Path]:
    """Paths, globs and folders -> the list of inputs (an OpenPose folder is one input)."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            if format == "openpose" or any(p.glob("*_keypoints.json")):
                out.append(p)
                continue
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()
                              and f.suffix.lower() in _SKELETON_SUFFIXES
                              and not f.name.startswith(".")))
        elif p.exists():
            out.append(p)
        elif glob.has_magic(item):
            out.extend(sorted(Path(g) for g in glob.glob(item, recursive=True)))
        else:
            out.append(p)  # reported as unreadable later
    seen: set[Path] = set()
    return [p for p in out if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


#: readers that select and track persons (``max_persons=``) from per-frame detections
POSE_ESTIMATOR_FORMATS = ("mmpose", "openpose", "mediapipe")
_ARRAY_FORMATS = ("npy", "npz")


def persons_of(net: Any) -> int:
    """Persons a model takes (``InputSpec.max_persons``); 2 (NTU, PKU-MMD) without a model."""
    return int(getattr(getattr(net, "input_spec", None), "max_persons", 2) or 1)


def reader_options(input_format: Optional[str], persons: int,
                   layout: Optional[str] = None) -> Any:
    """``options(path) -> dict``: reader options per input; pose-estimator files keep
    ``persons`` persons (those the model takes: :func:`persons_of`), tracked across frames;
    ``layout`` (``--layout``) goes to the readers whose files do not fix it (arrays, pose
    estimators)."""
    from skelloc.io import detect_format

    def options(path: Path) -> dict[str, Any]:
        try:
            name = (input_format or detect_format(path)).lower()
        except SkellocError:
            return {}  # the read itself reports what is wrong
        out: dict[str, Any] = {}
        if name in POSE_ESTIMATOR_FORMATS:
            out["max_persons"] = persons
        if layout is not None and name in (*_ARRAY_FORMATS, *POSE_ESTIMATOR_FORMATS):
            out["layout"] = layout
        return out

    return options


def old_format_option(value: Optional[str]) -> None:
    """The input format's old spelling ``--format``: say what it is called now."""
    if value is not None:
        raise ConfigError(f"--format is now --input-format (the input's format): pass "
                          f"--input-format {value}")


def unique_id(stem: str, used: set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, ... when an earlier input already took it."""
    vid, n = stem, 2
    while vid in used:
        vid, n = f"{stem}-{n}", n + 1
    used.add(vid)
    return vid


def extract(
    inputs: list[str] = typer.Argument(..., help="Files, folders or globs of skeleton input."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Model name or path (default: bundled)."),
    level: Optional[str] = typer.Option(
        None, "--level", help="fused | encoder (default: fused; encoder for a model without "
                              "a head)"),
    input_format: Optional[str] = typer.Option(
        None, "--input-format", "-i",
        help="Input format, e.g. mmpose, openpose, pkummd (default: by extension/content)."),
    old_format: Optional[str] = typer.Option(None, "--format", "-f", hidden=True),
    fps: Optional[float] = typer.Option(None, "--fps", help="Input frame rate override."),
    layout: Optional[str] = typer.Option(None, "--layout", help="Layout of array input."),
    to_layout: Optional[str] = typer.Option(None, "--to-layout",
                                            help="Convert the input to this layout."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Folder of PKU-MMD label files "
                                          "<id>.txt for the annotation JSON."),
    classes: Optional[Path] = typer.Option(None, "--classes",
                                           help="classes.txt (id,name) for --labels."),
    subset: str = typer.Option("training", "--subset", help="Subset name in the JSON."),
    native: bool = typer.Option(False, "--native", help="Keep the encoder's temporal stride "
                                "(implies --level encoder) instead of per-frame features."),
) -> None:
    """Export per-frame features: one [T, D] .npy per input plus annotations.json for
    ActionFormer / OpenTAD. Unreadable inputs are reported and skipped (exit code 2 at the end)."""
    import skelloc
    from skelloc.io import PKUMMD_CLASSES, read_pkummd_classes

    old_format_option(old_format)
    if level not in (None, "fused", "encoder"):
        raise ConfigError(f"--level must be 'fused' or 'encoder', got {level!r}")
    files = expand_inputs(inputs, input_format)
    if not files:
        raise InputError(f"no input files matched {' '.join(inputs)}")
    names = list(PKUMMD_CLASSES)
    if classes is not None:
        table = read_pkummd_classes(classes)
        names = [table[k] for k in sorted(table)]
    net = skelloc.load(model)  # once for the whole batch (None: the bundled default)
    options: dict[str, Any] = {k: v for k, v in
                               (("fps", fps), ("layout", layout), ("to_layout", to_layout))
                               if v is not None}
    per_input = reader_options(input_format, persons_of(net))
    used: set[str] = set()  # ids fixed up front; a folder input (OpenPose) is named by its name
    items = [skelloc.FeatureInput(
        unique_id(path.name if path.is_dir() else path.stem, used),
        _reader(path, input_format, options, per_input),
        _label_segments(labels / f"{path.stem}.txt", names) if labels is not None else (),
        subset, source=str(path)) for path in files]
    export = skelloc.export_features(
        items, out, net, level=level, native=native,  # type: ignore[arg-type]
        classes=names if labels is not None else None, progress=len(files) > 1,
        on_failure=lambda f: typer.echo(f"skipped {f.input.source}: {first_line(f.error)}",
                                        err=True))
    dims = sorted({r.feature_dim for r in export.records})
    typer.echo(f"wrote {len(export.records)} feature file(s) to {out} (dim {dims}); "
               f"annotations: {export.annotations}")
    if export.failed:
        typer.echo(f"{len(export.failed)} of {len(files)} input(s) failed", err=True)
        raise typer.Exit(code=2)


def _reader(path: Path, input_format: Optional[str], options: dict[str, Any],
            per_input: Any) -> Any:
    """``load()`` of a FeatureInput: :func:`skelloc.read` of ``path``, inside the export."""
    import skelloc

    def load() -> Any:
        return skelloc.read(path, format=input_format, **options, **per_input(path))

    return load


def _label_segments(label_file: Path, names: list[str]) -> Any:
    """``segments(seq)`` of a FeatureInput: the PKU-MMD label file's instances (clipped to
    the sequence's frames) named by ``names``; none when the file does not exist."""
    from skelloc.io import read_pkummd_labels

    if not label_file.is_file():
        return ()

    def segments(seq: Any) -> list[tuple[str, int, int]]:
        return [(names[i.label - 1], i.start, i.end) for i in
                read_pkummd_labels(label_file, num_frames=seq.num_frames)]

    return segments


def first_line(err: BaseException) -> str:
    """An error's first line for a one-line report, in CLI words where it has them."""
    text = (getattr(err, "cli_message", None) or str(err)).strip()
    return text.splitlines()[0] if text else type(err).__name__


def prepare_pkummd(
    src: Path = typer.Argument(..., help="Official PKU-MMD folder, or skeletons/*.npy + labels/."),
    out: Path = typer.Argument(..., help="Output cache folder."),
    val_performances: Optional[Path] = typer.Option(
        None, "--val-performances", help="File of 4-digit performance ids for validation."),
    val_fraction: Optional[float] = typer.Option(
        None, "--val-fraction", help="Fraction of training performances drawn for validation."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --val-fraction draw."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Downsample to this fps (e.g. 15)."),
    split_file: Optional[Path] = typer.Option(None, "--split-file",
                                              help="Official cross-subject/cross-view file."),
    dtype: str = typer.Option("float16", "--dtype", help="float16 | float32"),
    image2d: bool = typer.Option(
        False, "--2d", help="Write 2D keypoints: joints projected into the Kinect v2 depth "
                            "camera (pixels + score), coco13 layout, for 2D models."),
) -> None:
    """Convert PKU-MMD into a skelloc training cache."""
    from skelloc.io import load_cache, read_id_list
    from skelloc.io import prepare_pkummd as run_prepare

    perfs = read_id_list(val_performances) if val_performances is not None else None
    path = run_prepare(src, out, fps=fps, val_performances=perfs, val_fraction=val_fraction,
                       seed=seed, split_file=split_file, dtype=dtype, progress=True,
                       image2d=image2d)
    _summary(load_cache(path), path)


def prepare_ntu(
    src: Path = typer.Argument(..., help="Folder of NTU .skeleton files (recursive)."),
    out: Path = typer.Argument(..., help="Output cache folder."),
    benchmark: str = typer.Option("xsub", "--benchmark", help="xsub | xview | xset"),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction"),
    seed: int = typer.Option(0, "--seed"),
    fps: Optional[float] = typer.Option(None, "--fps", help="Downsample to this fps."),
    dtype: str = typer.Option("float16", "--dtype", help="float16 | float32"),
) -> None:
    """Convert NTU RGB+D .skeleton files into a training cache (unreadable files are reported)."""
    from skelloc.io import load_cache
    from skelloc.io import prepare_ntu as run_prepare

    path, failures = run_prepare(src, out, benchmark=benchmark, fps=fps,
                                 val_fraction=val_fraction, seed=seed, dtype=dtype,
                                 progress=True)
    for f, why in failures:
        typer.echo(f"skipped {f}: {why.splitlines()[0]}", err=True)
    _summary(load_cache(path), path)
    if failures:
        raise typer.Exit(code=2)


def prepare_babel(
    joints: Path = typer.Argument(..., help="Folder of <babel_sid>.npy/.npz NTU-25 joints."),
    out: Path = typer.Argument(..., help="Output cache folder."),
    train: Optional[Path] = typer.Option(None, "--train", help="BABEL train.json."),
    test: Optional[Path] = typer.Option(None, "--test", help="BABEL JSON used as test "
                                        "(the paper: val.json)."),
    subset: Optional[int] = typer.Option(None, "--subset", help="1, 2 or 3 (4-class subsets)."),
    joints_fps: Optional[float] = typer.Option(None, "--joints-fps",
                                               help="Frame rate of the joint arrays."),
    max_frames: int = typer.Option(1000, "--max-frames", help="Drop longer sequences (0: keep)."),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction"),
    seed: int = typer.Option(0, "--seed"),
    dtype: str = typer.Option("float16", "--dtype", help="float16 | float32"),
) -> None:
    """Pair BABEL labels with your own AMASS-to-joints arrays into a training cache."""
    from skelloc.io import load_cache
    from skelloc.io import prepare_babel as run_prepare

    files = {k: v for k, v in (("train", train), ("test", test)) if v is not None}
    if not files:
        raise ConfigError("give --train and/or --test (BABEL JSON files)")
    path = run_prepare(files, joints, out, subset=subset, joints_fps=joints_fps,
                       max_frames=max_frames or None, val_fraction=val_fraction, seed=seed,
                       dtype=dtype)
    _summary(load_cache(path), path)


def prepare_utkinect(
    src: Path = typer.Argument(..., help="UTKinect folder: joints/joints_sXX_eYY.txt + labels."),
    out: Path = typer.Argument(..., help="Output cache folder."),
    labels: str = typer.Option("modified", "--labels", help="modified (actionLabel_modified.txt"
                               ", corrected) | official (actionLabel.txt) | a label file path."),
    layout: str = typer.Option("ntu25", "--layout", help="Cache layout: ntu25 or kinect_v1_20."),
    val_subjects: Optional[str] = typer.Option(None, "--val-subjects",
                                               help="Comma-separated subjects for validation "
                                               "(s01,s05)."),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction"),
    seed: int = typer.Option(0, "--seed"),
    dtype: str = typer.Option("float16", "--dtype", help="float16 | float32"),
) -> None:
    """Convert UTKinect-Action3D into a training cache (30 fps frame-id timeline)."""
    from skelloc.io import load_cache
    from skelloc.io import prepare_utkinect as run_prepare

    subjects = _id_list(val_subjects)
    path = run_prepare(src, out, labels=labels, layout=layout, val_subjects=subjects,
                       val_fraction=val_fraction, seed=seed, dtype=dtype)
    _summary(load_cache(path), path)


def prepare_babel_tal(
    src: Path = typer.Argument(..., help="Folder with BT_action.json, amass_to_babel.json, "
                               "action_mapping.txt and bvh/SSS_TT.bvh."),
    out: Path = typer.Argument(..., help="Output cache folder."),
    actions: Optional[Path] = typer.Option(None, "--actions", help="Another BT_action.json."),
    val_subjects: Optional[str] = typer.Option(None, "--val-subjects",
                                               help="Comma-separated CMU subjects for "
                                               "validation (05,07)."),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction"),
    seed: int = typer.Option(0, "--seed"),
    units: str = typer.Option("auto", "--units", help="auto | cm | m | mm | in (BVH units)."),
    dtype: str = typer.Option("float16", "--dtype", help="float16 | float32"),
) -> None:
    """Convert BABEL-TAL ground truth on CMU BVH motions into a multi-label training cache."""
    from skelloc.io import load_cache
    from skelloc.io import prepare_babel_tal as run_prepare

    path = run_prepare(src, out, actions=actions, val_subjects=_id_list(val_subjects),
                       val_fraction=val_fraction, seed=seed, units=units, dtype=dtype)
    _summary(load_cache(path), path)


def prepare_labels(
    recordings: Path = typer.Argument(..., help="Folder of recordings skelloc.read reads (the "
                                      "file stem is the video name)."),
    out: Path = typer.Argument(..., help="Output cache folder."),
    labels: Path = typer.Option(..., "--labels", help="CSV video,label,start_s,end_s[,group] "
                                "or ActivityNet-style JSON."),
    val_videos: Optional[str] = typer.Option(
        None, "--val-videos", help="Validation videos: comma-separated names or a file of "
                                   "names (their whole groups go along)."),
    val_fraction: Optional[float] = typer.Option(
        None, "--val-fraction", help="Seeded fraction of the groups (subjects) for validation."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --val-fraction draw."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Resample to this frame rate "
                                       "(default: the first recording's)."),
    input_format: Optional[str] = typer.Option(None, "--input-format",
                                               help="Reader for every recording (default: "
                                                    "detected per file)."),
) -> None:
    """Your own recordings and label table -> a training cache (classes from the labels)."""
    from skelloc.io import load_cache, read_id_list
    from skelloc.io import prepare_recordings as run_prepare

    names: Optional[list[str]] = None
    if val_videos is not None:
        names = (read_id_list(Path(val_videos)) if Path(val_videos).is_file()
                 else _id_list(val_videos))
    options = {"format": input_format} if input_format else None
    path = run_prepare(recordings, out, labels, val_videos=names, val_fraction=val_fraction,
                       seed=seed, fps=fps, read_options=options)
    data = load_cache(path)
    _summary(data, path)
    typer.echo(f"classes: {', '.join(data['classes'])}")


def _id_list(text: Optional[str]) -> Optional[list[str]]:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def _summary(data: dict[str, Any], path: Path) -> None:
    counts: dict[str, int] = {}
    for v in data["videos"]:
        counts[str(v["split"])] = counts.get(str(v["split"]), 0) + 1
    parts = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
    segs = sum(len(v["segments"]) for v in data["videos"])
    typer.echo(f"wrote {path}: {len(data['videos'])} videos ({parts}), {segs} segments, "
               f"{len(data['classes'])} classes, {data['fps']:g} fps")


def register(app: typer.Typer) -> None:
    """Add ``extract`` and the ``prepare`` group to ``app``."""
    app.command("extract")(extract)
    prepare = typer.Typer(help="Convert datasets into skelloc training caches.",
                          no_args_is_help=True)
    prepare.command("pkummd")(prepare_pkummd)
    prepare.command("ntu")(prepare_ntu)
    prepare.command("babel")(prepare_babel)
    prepare.command("utkinect")(prepare_utkinect)
    prepare.command("babel-tal")(prepare_babel_tal)
    prepare.command("labels")(prepare_labels)
    app.add_typer(prepare, name="prepare")
