"""skelloc.inference: input validation, sliding windows, segment decoding, the inference API.

Names are imported lazily (``import skelloc.inference`` does not import torch)::

    from skelloc.inference import localize, predict_frames, decode_proposals
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "predict_frames": "skelloc.inference.api",
    "localize": "skelloc.inference.api",
    "analyze": "skelloc.inference.api",
    "Localization": "skelloc.inference.api",
    "extract_features": "skelloc.inference.api",
    "Segment": "skelloc.inference.segments",
    "Detection": "skelloc.inference.decode",
    "decode": "skelloc.inference.decode",
    "decode_proposals": "skelloc.inference.decode",
    "decode_argmax": "skelloc.inference.decode",
    "list_decoders": "skelloc.inference.decode",
    "as_sequence": "skelloc.inference.validate",
    "prepare_input": "skelloc.inference.validate",
    "WindowConfig": "skelloc.inference.windowing",
    "sliding_window_apply": "skelloc.inference.windowing",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module = importlib.import_module(_LAZY[name])
    except KeyError:
        raise AttributeError(f"module 'skelloc.inference' has no attribute {name!r}") from None
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
