"""Defensive helpers shared by the text parsers: every failure becomes SkeletonFormatError."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._limits import FLOAT32_MAX, MAX_TEXT_BYTES, check_float32, regular_file_size

__all__ = ["read_text", "text_lines", "parse_floats", "load_json", "as_float"]


def read_text(path: Path, allow_empty: bool = False) -> str:
    """Decode a text file, refusing binary content (and empty files unless ``allow_empty``),
    files that are not regular files and files past :data:`MAX_TEXT_BYTES`."""
    size = regular_file_size(path, MAX_TEXT_BYTES, "text file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(size + 1)
    except OSError as err:
        raise SkeletonFormatError(f"cannot read: {err.strerror or err}", path=path) from None
    if len(raw) > MAX_TEXT_BYTES:  # grew while being read
        raise SkeletonFormatError(f"larger than the {MAX_TEXT_BYTES}-byte limit for a text "
                                  "file", path=path)
    if not raw.lstrip(b"\xef\xbb\xbf").strip() and not allow_empty:
        raise SkeletonFormatError("file is empty", path=path)
    if b"\x00" in raw[:65536]:
        raise SkeletonFormatError("binary content (NUL bytes) in a text format", path=path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SkeletonFormatError("not UTF-8 text", path=path, line=line) from None


def text_lines(path: Path) -> list[str]:
    """The file's lines (without line ends)."""
    return read_text(path).splitlines()


def parse_floats(text: str, path: Path, line: int, count: int | None = None,
                 sep: str | None = None, what: str = "values") -> np.ndarray:
    """Parse ``text`` into finite float64 values, checking the count when given."""
    parts = text.split(sep) if sep is not None else text.split()
    parts = [p.strip() for p in parts]
    if count is not None and len(parts) != count:
        raise SkeletonFormatError(f"expected {count} {what}, found {len(parts)}",
                                  path=path, line=line)
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise SkeletonFormatError(f"not a number: {bad[:40]!r}", path=path, line=line) from None
    if not np.all(np.isfinite(values)):
        raise SkeletonFormatError("NaN or infinite value", path=path, line=line)
    check_float32(values, path, line)
    return values


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_int(text: str, path: Path, line: int, what: str = "integer") -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SkeletonFormatError(f"expected {what}, found {text.strip()[:40]!r}",
                                  path=path, line=line) from None


def load_json(path: Path) -> Any:
    """Parse a JSON file; syntax errors name the line."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SkeletonFormatError(f"invalid JSON: {err.msg}", path=path, line=err.lineno) from None
    except RecursionError:
        raise SkeletonFormatError("JSON nested too deeply", path=path) from None


def as_float(value: Any, path: Path, where: str) -> float:
    """A JSON number as a finite float (bools and strings are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SkeletonFormatError(f"{where}: expected a number, got {type(value).__name__}",
                                  path=path)
    try:
        out = float(value)
    except OverflowError:  # an integer past the float range
        out = math.inf
    if not math.isfinite(out) or abs(out) > FLOAT32_MAX:
        raise SkeletonFormatError(f"{where}: NaN, infinite or past the float32 range",
                                  path=path)
    return out
