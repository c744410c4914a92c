"""Word-level values recomputed by an independent route: the four word-pair tasks and
ValNorm against words embedded one at a time straight through the model, cosines by
hand and scipy's correlations (small stand-ins, 64 wide: what is compared does not
depend on the width)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as sps
from support.fakes import spread_words

from cvsp import experiments
from cvsp.embeddings import cached

WORD_LAYERS = ("1", "6", "12")  # checked for every model and token choice
CLIP_EOS_EXTRAS = ("final_ln", "projection")
TOLERANCE = 1e-5  # one word at a time vs padded batches: float32 noise only


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Single-word passes are latency-bound: on a busy two-core machine torch's second
    thread only adds waiting (1 s instead of 50 ms for one GPT-2 pass)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_words(settings) -> experiments.WordData:
    return spread_words(settings)


def _layer_position(label: str) -> int:
    """Index into the vectors of :func:`_one_word`: hidden states 0-12, then CLIP's extras."""
    return int(label) if label.isdigit() else 13 + CLIP_EOS_EXTRAS.index(label)


def _one_word(loaded, word: str) -> dict[str, np.ndarray]:
    """``variant -> [layers, dim]`` float64 vectors of one word, no cvsp code.

    GPT-2: ``word`` (last_subtoken) and ``<|endoftext|> word <|endoftext|>`` (eos), two
    passes, last position of each. CLIP: one pass over the tokenizer's own
    ``[BOS] word [EOS]``, the position before EOS (last_subtoken) and EOS; CLIP's eos adds
    the final layer norm and the projection.
    """
    tok, model = loaded.tokenizer, loaded.model

    def hidden(ids: list[int]):
        with torch.inference_mode():
            out = model(input_ids=torch.tensor([ids]), output_hidden_states=True)
        assert len(out.hidden_states) == 13
        return out

    def stacked(vectors) -> np.ndarray:
        return torch.stack(list(vectors)).double().numpy()

    ids = tok(word)["input_ids"]
    if loaded.spec.family == "gpt2":
        assert tok.eos_token_id not in ids  # GPT-2's tokenizer adds no special tokens
        bare = hidden(ids)
        wrapped = hidden([tok.eos_token_id, *ids, tok.eos_token_id])
        return {
            "last_subtoken": stacked(h[0, -1] for h in bare.hidden_states),
            "eos": stacked(h[0, -1] for h in wrapped.hidden_states),
        }
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    out = hidden(ids)
    extras = [out.last_hidden_state[0, -1], out.text_embeds[0]]
    return {
        "last_subtoken": stacked(h[0, -2] for h in out.hidden_states),
        "eos": stacked([*(h[0, -1] for h in out.hidden_states), *extras]),
    }


@pytest.fixture(scope="module")
def by_hand(small_models, small_words) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """``(model, variant) -> word -> [layers, dim]``, every word embedded on its own (small stand-ins)."""
    found: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for key in ("gpt2", "clip"):
        for word in small_words.vocabulary():
            for variant, vectors in _one_word(small_models[key], word).items():
                found.setdefault((key, variant), {})[word] = vectors
    return found


@pytest.fixture(scope="module")
def word_table(small_models, small_words) -> pd.DataFrame:
    embedders = {key: cached(m, store=None, progress=False) for key, m in small_models.items()}
    return experiments.word_similarity(embedders, small_words)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.mark.parametrize("variant", ["last_subtoken", "eos"])
@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_word_level_values_match_words_embedded_one_at_a_time(
    word_table, by_hand, small_words, key, variant
):
    vectors = by_hand[(key, variant)]
    layers = WORD_LAYERS + (CLIP_EOS_EXTRAS if (key, variant) == ("clip", "eos") else ())
    rows = word_table.query("model == @key and variant == @variant").set_index(["task", "layer"])
    checked = 0
    for layer in layers:
        at = _layer_position(layer)
        for task, pairs in small_words.pairs.items():
            cosines = [
                _cosine(vectors[a][at], vectors[b][at])
                for a, b in zip(pairs["word1"], pairs["word2"])
            ]
            expected = sps.spearmanr(cosines, pairs["score"].to_numpy()).statistic
            row = rows.loc[(task, layer)]
            assert np.isfinite(expected)
            assert row["value"] == pytest.approx(expected, abs=TOLERANCE), (
                key,
                variant,
                task,
                layer,
            )
            assert row["n"] == len(pairs)
            checked += 1
        effects = []
        for word in small_words.lexicon["word"]:
            pleasant = [_cosine(vectors[word][at], vectors[p][at]) for p in small_words.pleasant]
            unpleasant = [
                _cosine(vectors[word][at], vectors[u][at]) for u in small_words.unpleasant
            ]
            spread = np.std(pleasant + unpleasant)  # population standard deviation
            effects.append((np.mean(pleasant) - np.mean(unpleasant)) / spread)
        expected = sps.pearsonr(effects, small_words.lexicon["valence"].to_numpy()).statistic
        row = rows.loc[(experiments.VALNORM_TASK, layer)]
        assert row["value"] == pytest.approx(expected, abs=TOLERANCE), (
            key,
            variant,
            "valnorm",
            layer,
        )
        assert row["n"] == len(small_words.lexicon)
        checked += 1
    assert checked == 5 * len(layers)
