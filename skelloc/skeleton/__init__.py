"""skelloc.skeleton: sequence record, layouts, graphs, conversion, normalisation, resampling."""

from skelloc.skeleton.convert import (
    Conversion,
    convert_layout,
    convert_sequence,
    get_conversion,
    list_conversions,
    register_conversion,
)
from skelloc.skeleton.graph import STRATEGIES, Graph
from skelloc.skeleton.layouts import Layout, get_layout, list_layouts, register_layout
from skelloc.skeleton.normalize import ntu_pre_normalize
from skelloc.skeleton.resample import (
    frames_to_seconds,
    map_frames,
    resample,
    resample_sequence,
    resampled_length,
    seconds_to_frames,
)
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "SkeletonSequence",
    "Layout",
    "get_layout",
    "list_layouts",
    "register_layout",
    "Graph",
    "STRATEGIES",
    "Conversion",
    "convert_layout",
    "convert_sequence",
    "get_conversion",
    "list_conversions",
    "register_conversion",
    "ntu_pre_normalize",
    "resample",
    "resample_sequence",
    "resampled_length",
    "map_frames",
    "frames_to_seconds",
    "seconds_to_frames",
]
