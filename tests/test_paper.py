"""The paper's numbers and the comparison table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvsp import paper
from cvsp.experiments import COLUMNS


def synthetic_scores() -> pd.DataFrame:
    rows = []
    for layer in range(13):
        rows.append(("cwe_self_similarity", "gpt2", "random_token", "sts_sentences", str(layer), 0.5 + layer / 100))
        rows.append(("cwe_self_similarity", "clip", "random_token", "sts_sentences", str(layer), 0.1))
        rows.append(("sts", "gpt2", "last_token", "stsb", str(layer), 0.2))
        rows.append(("sts", "gpt2", "eos", "stsb", str(layer), 0.3 if layer != 7 else 0.46))
        rows.append(("sts", "clip", "eos", "stsb", str(layer), layer / 20))
    rows.append(("sts", "clip", "eos", "stsb", "projection", 0.99))
    frame = pd.DataFrame(rows, columns=COLUMNS[:6])
    return frame.assign(n=10, note="")


def test_gpt2_cwe_series_has_13_layers():
    points = paper.reference_points("cwe_self_similarity", "gpt2", "random_token", "sts_sentences")
    assert list(points) == [str(i) for i in range(13)]
    assert points["12"] == pytest.approx(0.964)


def test_compare_reduces_as_each_claim_says():
    table = paper.compare(synthetic_scores()).set_index("claim")
    top = table.loc["GPT-2 CWE self-similarity is above .95 in the top layer"]
    assert top["ours"] == pytest.approx(0.62) and not top["holds"]
    clip_bound = table.loc["CLIP CWE self-similarity is under .25 in all layers"]
    assert clip_bound["ours"] == pytest.approx(0.1) and clip_bound["holds"]
    gpt2_sts = table.loc["GPT-2 is no higher than rho = .45 in any layer on STS-B"]
    assert gpt2_sts["ours"] == pytest.approx(0.46) and not gpt2_sts["holds"]
    clip_sts = table.loc["CLIP's EOS token reaches rho = .73 on STS-B (best layer)"]
    assert clip_sts["ours"] == pytest.approx(0.6)  # layers 0-12 only, not the projection
    layer3 = table.loc["GPT-2 CWE self-similarity, layer 3"]
    assert layer3["difference"] == pytest.approx(0.53 - 0.629)


def test_missing_results_are_nan_not_holding():
    table = paper.compare(synthetic_scores())
    rg65 = table[table["claim"].str.contains("RG65")].iloc[0]
    assert np.isnan(rg65["ours"]) and not rg65["holds"]


def test_every_claim_has_a_source():
    for claim in paper.REPORTED:
        assert claim.source and claim.relation in ("≈", "<", ">", "≤", "≥")
