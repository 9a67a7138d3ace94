"""Fixtures of the hub tests (defined in :mod:`hub.mockhub`, shared with ``tests/cli``)."""

from .mockhub import (  # noqa: F401  (fixtures)
    _fresh_registry,
    closed_port,
    hub_model,
    mock_hub,
    tiny_files,
)
