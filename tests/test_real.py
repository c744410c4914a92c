"""The paper's headline claims with the real pretrained weights.

These tests need the Hugging Face hub (or a populated hub cache with HF_HUB_OFFLINE=1);
they are skipped, with the reason shown, when the weights cannot be had. Each asserts a
claim of the abstract as :mod:`cvsp.paper` states it: bounds as stated, "≈" values
within ``paper.APPROX_TOLERANCE`` (0.03).
"""

from __future__ import annotations

import pytest

from cvsp import paper, reproduce
from cvsp.models import MODELS, ModelUnavailableError, load_real

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def real_run(settings):
    try:
        load_real("gpt2", device="cpu")
    except ModelUnavailableError as error:
        pytest.skip(f"real weights unavailable: {error}")
    return reproduce.run(settings.with_(models="real", device="auto", revisions={}), progress=False)


@pytest.mark.parametrize(
    "claim", [c for c in paper.REPORTED if c.source == "Abstract"], ids=lambda c: c.text
)
def test_abstract_claim_holds(real_run, claim):
    ours = claim.ours(real_run.scores)
    assert claim.holds(ours), f"{claim.text}: paper {claim.relation} {claim.value}, ours {ours:.3f}"


def test_real_models_load_the_pinned_commits(real_run):
    for key, spec in MODELS.items():
        record = real_run.provenance["models"][key]
        assert record["source"] == "real"
        assert record["commit"] == spec.revision == record["pinned_commit"], key
