"""Synthetic gold populations in WVS wave 7 layout, steering-method simulators, codebook facts."""

from popaudit.data.codebook import (
    IW_POLES,
    WVS7_ITEMS,
    codebook,
    codebook_items,
    official_value_labels,
)
from popaudit.datasets.gold import (
    COUNTRIES,
    GOLD_DEMOGRAPHICS,
    GenerativeTruth,
    write_official_layout,
    wvs_like,
    wvs_like_frame,
    wvs_like_truth,
)
from popaudit.datasets.simulators import (
    DEFAULT_BY,
    finetuned_like,
    mode_collapsed,
    persona_like,
    shuffled,
    simulated_populations,
    stereotyped,
)

__all__ = [
    "COUNTRIES",
    "DEFAULT_BY",
    "GOLD_DEMOGRAPHICS",
    "IW_POLES",
    "WVS7_ITEMS",
    "GenerativeTruth",
    "codebook",
    "codebook_items",
    "finetuned_like",
    "mode_collapsed",
    "official_value_labels",
    "persona_like",
    "shuffled",
    "simulated_populations",
    "stereotyped",
    "write_official_layout",
    "wvs_like",
    "wvs_like_frame",
    "wvs_like_truth",
]
