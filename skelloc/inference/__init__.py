"""skelloc.inference: input validation, sliding windows, segment decoding, the inference API.

Names are imported lazily (``import skelloc.inference`` does not import torch)::

    from skelloc.inference import localize, predict_frames, decode_proposals
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports

# public name -> "module" (the attribute of the same name) or "module:attribute"
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

__all__ = [
    "Detection",
    "Localization",
    "Segment",
    "WindowConfig",
    "analyze",
    "as_sequence",
    "decode",
    "decode_argmax",
    "decode_proposals",
    "extract_features",
    "list_decoders",
    "localize",
    "predict_frames",
    "prepare_input",
    "sliding_window_apply",
]


if TYPE_CHECKING:  # pragma: no cover
    from skelloc.inference.api import (
        Localization,
        analyze,
        extract_features,
        localize,
        predict_frames,
    )
    from skelloc.inference.decode import (
        Detection,
        decode,
        decode_argmax,
        decode_proposals,
        list_decoders,
    )
    from skelloc.inference.segments import Segment
    from skelloc.inference.validate import as_sequence, prepare_input
    from skelloc.inference.windowing import WindowConfig, sliding_window_apply

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
