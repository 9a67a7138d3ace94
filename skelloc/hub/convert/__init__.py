"""Convert original checkpoints into skelloc weights (``skelloc convert``).

Sources (docs/design/conventions.md#data-bn):

==========  ==============================================================================
``stgcn``   ``yysijie/st-gcn``: ``A``, ``data_bn``, ``st_gcn_networks.*``, ``edge_importance.*``,
            ``fcn`` (the clip classifier, dropped)
``aimclr``  AimCLR / CrosSCLR: ``encoder_q.<st-gcn keys>``, ``encoder_q.fc`` (MLP, dropped),
            ``encoder_k.*``, ``queue*`` (dropped)
``rvtclr``  RVTCLR: same layout as ``aimclr``
``snipclr`` the paper's released code: ``encoder_q.agcn.<2s-AGCN keys>`` (pretraining) or
            ``agcn.<keys>`` (finetuning); heads, key encoder and queues dropped
``agcn``    ``lshiwjx/2s-AGCN``: ``l1..l10``, ``data_bn``, ``fc`` (dropped); the fixed graph ``A``
            is not in the checkpoint and is rebuilt
==========  ==============================================================================

The result is an encoder-only skelloc model folder (``encoder.safetensors`` + ``config.json``,
with the architecture in the safetensors metadata) that ``skelloc.load(DIR)`` and
``skelloc train`` accept.  Model arguments are inferred from tensor shapes; the temporal strides
cannot be, so each source has its published default (override with ``stride_blocks``).
"""

from __future__ import annotations

from skelloc.hub.convert.core import (
    CONVERTERS,
    ConversionResult,
    convert_checkpoint,
    convert_state_dict,
)

__all__ = ["CONVERTERS", "ConversionResult", "convert_checkpoint", "convert_state_dict"]
