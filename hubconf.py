"""torch.hub entry point: ``torch.hub.load("<org>/skelloc", "skelloc_model", name="...")``.

Weights are resolved and verified exactly as by :func:`skelloc.load` (pinned commits, SHA-256).
"""

from __future__ import annotations

from typing import Any

dependencies = ["torch", "safetensors", "huggingface_hub"]


def skelloc_model(name: str | None = None, **kwargs: Any) -> Any:
    """Load a skelloc model by name (default: the manifest's default); see ``skelloc.load``."""
    import skelloc

    return skelloc.load(name, **kwargs)
