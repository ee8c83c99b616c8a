"""Shared test data."""

import warnings

import pandas as pd

import popaudit as pa

SWEEP_ITEMS = ["Q164", "Q182", "Q184", "Q46", "Q57", "Q45"]


def two_country_gold(n: int):
    """Gold of two synthetic countries (``AAA``, ``BBB``; ``n`` respondents each, seeds 0 and
    1) on six items, split by ``B_COUNTRY_ALPHA``: the data of the sweep tests."""
    frames = [pa.datasets.wvs_like_frame(n=n, seed=i).assign(B_COUNTRY_ALPHA=c)
              for i, c in enumerate(["AAA", "BBB"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gold = pa.wvs_survey(pd.concat(frames, ignore_index=True), name="gold")
    return gold.select(SWEEP_ITEMS)
