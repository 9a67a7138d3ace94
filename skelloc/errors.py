"""The skelloc error hierarchy.

Every error raised on purpose by skelloc derives from :class:`SkellocError` and, where it
fits, from the matching built-in (``ValueError``, ``KeyError``, ``FileNotFoundError``,
``ConnectionError``) so that generic ``except`` clauses keep working.  Each class carries an
``exit_code`` used by the CLI (see docs/design/hub.md#errors):

====  ===========================================
0     OK
1     unexpected error
2     usage error / bad input
3     network or download error
4     checksum mismatch
5     not found, or offline and not cached
6     manifest or version error, incompatible or unsafe weights
7     disk full (no space left, file too large, quota): nothing partial is kept
====  ===========================================
"""

from __future__ import annotations

from typing import TypeVar

__all__ = [
    "SkellocError",
    "InputError",
    "ShapeError",
    "LayoutMismatchError",
    "NonFiniteError",
    "EmptyInputError",
    "SkeletonFormatError",
    "LabelTableError",
    "LabelMismatchError",
    "InputKindError",
    "in_cli_words",
    "ConfigError",
    "UnknownModelError",
    "UnknownArchitectureError",
    "ManifestError",
    "WeightsNotFoundError",
    "WeightsNotCachedError",
    "DownloadError",
    "RepositoryAccessError",
    "RevisionNotFoundError",
    "ChecksumMismatchError",
    "IncompatibleWeightsError",
    "UnsafeCheckpointError",
    "MissingDependencyError",
    "OutputWriteError",
    "DiskFullError",
    "FrameRateAssumedWarning",
]


SkellocErrorT = TypeVar("SkellocErrorT", bound="SkellocError")


class SkellocError(Exception):
    """Root of every error skelloc raises on purpose.

    ``cli_message``, when set (see :func:`in_cli_words`), is the same message in the command
    line's words (``--nonfinite interpolate`` instead of ``nonfinite='interpolate'``); the CLI
    prints it instead of ``str(err)``.
    """

    exit_code: int = 1
    cli_message: str | None = None


def in_cli_words(err: SkellocErrorT, *replacements: tuple[str, str]) -> SkellocErrorT:
    """Give ``err`` a ``cli_message``: its text with each ``(python, cli)`` phrase replaced,
    e.g. ``("pass nonfinite='interpolate'", "pass --nonfinite interpolate")``."""
    text = str(err)
    for python, cli in replacements:
        text = text.replace(python, cli)
    err.cli_message = text
    return err


# --------------------------------------------------------------------------- input data
class InputError(SkellocError, ValueError):
    """The skeleton input cannot be used as given."""

    exit_code = 2


class ShapeError(InputError):
    """Wrong rank, wrong channel count or non-numeric dtype."""


class LayoutMismatchError(InputError):
    """The joint count does not match the model's skeleton layout."""


class NonFiniteError(InputError):
    """NaN or infinite coordinates (pass ``nonfinite="interpolate"`` to repair them)."""


class EmptyInputError(InputError):
    """A sequence with zero frames, or with no valid frame at all."""


class SkeletonFormatError(InputError):
    """A file is not a valid instance of its format (the message names the file and line)."""

    def __init__(self, message: str, *, path: object | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class LabelTableError(SkeletonFormatError):
    """A label table row that cannot be used: unknown video, end before start, times past the
    recording, an empty label, a duplicate header (the message names the file and row)."""


class InputKindError(ShapeError):
    """The input is a kind of skeleton the model cannot take, e.g. 2D keypoints (x, y, score)
    given to a model of 3D joints; the message names the remedy."""


class LabelMismatchError(InputError):
    """No predicted label names any ground-truth class (e.g. class names against numeric
    PKU-MMD ids with no class list to map them): every AP would be 0."""


class ConfigError(SkellocError, ValueError):
    """An invalid configuration (model arguments, recipe, option value)."""

    exit_code = 2


# --------------------------------------------------------------------------- registry / hub
class UnknownModelError(SkellocError, KeyError):
    """A model name that no manifest knows; the message lists close matches."""

    exit_code = 5

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownArchitectureError(UnknownModelError):
    """An architecture name that no builder is registered for."""


class ManifestError(SkellocError, ValueError):
    """Invalid manifest, unsupported schema_version or skelloc_min_version not met."""

    exit_code = 6


class WeightsNotFoundError(SkellocError, FileNotFoundError):
    """An explicit local weights path does not exist."""

    exit_code = 5


class WeightsNotCachedError(SkellocError, FileNotFoundError):
    """Offline, and the weights are nowhere local; the message lists the trail and the fixes."""

    exit_code = 5


class DownloadError(SkellocError, ConnectionError):
    """Wraps every transport exception (huggingface_hub, requests, httpx), naming the endpoint."""

    exit_code = 3


class RepositoryAccessError(DownloadError):
    """Repository not found, gated or unauthorised."""

    exit_code = 5


class RevisionNotFoundError(DownloadError):
    """The pinned commit (or a file at it) is gone upstream."""

    exit_code = 5


class ChecksumMismatchError(SkellocError, ValueError):
    """A file's SHA-256 or size differs from the manifest."""

    exit_code = 4


class IncompatibleWeightsError(SkellocError, ValueError):
    """Key, shape or architecture mismatch between weights and model."""

    exit_code = 6


class UnsafeCheckpointError(IncompatibleWeightsError):
    """A pickle checkpoint given without ``allow_pickle=True``."""


class MissingDependencyError(SkellocError, ImportError):
    """An optional extra (``skelloc[train]``, ``skelloc[viz]``) is needed for this feature."""

    exit_code = 2


# --------------------------------------------------------------------------- output
class OutputWriteError(SkellocError, OSError):
    """An output file or folder cannot be written (permission, read-only file system, ...)."""

    exit_code = 2

    def __str__(self) -> str:  # OSError would otherwise format (errno, strerror)
        return str(self.args[0]) if self.args else ""


class DiskFullError(OutputWriteError):
    """No space left on the device, a file past the size limit or the quota (ENOSPC, EFBIG,
    EDQUOT); the partial file has been deleted."""

    exit_code = 7


class FrameRateAssumedWarning(UserWarning):
    """An input came without a frame rate and 30 fps was assumed (see
    :func:`skelloc.skeleton.sequence.assume_fps`); pass ``fps=`` / ``--fps`` to set it.

    The message ends with :attr:`remedy`; the CLI shows :attr:`cli_remedy` in its place."""

    remedy = "if it differs, pass fps=... (Python) or --fps (command line)"
    cli_remedy = "if it differs, pass --fps"
