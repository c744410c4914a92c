"""Beyond the paper's pair: the four new registry models (LAION's CLIP, CLIP L/14, SigLIP,
GPT-2 medium) as small stand-ins, SigLIP's token positions and stand-in tokenizer, a
24-block model through every result, interval and figure, and the pure functions of
:mod:`cvsp.experiments.beyond` on synthetic replicates.

The real architecture numbers below are the public configs of the hub checkpoints,
written down by hand (not read from the code under test). Every model is loaded once for
the module, at the small width: what is tested (positions, batching, depth, tables,
figures) does not depend on it.
"""

from __future__ import annotations

import json
from itertools import chain
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoTokenizer,
    BertConfig,
    CLIPConfig,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    GPT2Config,
    GPT2Model,
    SiglipTextConfig,
    SiglipTextModel,
)

from cvsp import data, experiments, paper, plots, reproduce, unigram, wordpiece
from cvsp.data import sha256_of
from cvsp.embeddings import cached
from cvsp.experiments import beyond
from cvsp.experiments.bootstrap import Replicates
from cvsp.experiments.paired import COMPARED, paired_differences
from cvsp.models import load_models
from cvsp.registry import HIDDEN_LAYERS, MODEL_SETS, MODELS, hidden_count, hidden_layers
from cvsp.standins import (
    _TINY_VISION,
    SMALL_WIDTH,
    STANDIN_MARKER,
    standin_checkpoint,
    standin_config,
)
from cvsp.stats import BootstrapSettings
from cvsp.tokens import EmbeddingError, encode, layers_for

NEW = ("clip_laion", "clip_large", "siglip", "gpt2_medium")
CLASSES = {
    "clip_laion": CLIPTextModelWithProjection,
    "clip_large": CLIPTextModelWithProjection,
    "siglip": SiglipTextModel,
    "gpt2_medium": GPT2Model,
}
BLOCKS = {"clip_laion": 12, "clip_large": 12, "siglip": 12, "gpt2_medium": 24}
# What the hub's checkpoint holds (the whole model), and where its token embedding sits in it.
CHECKPOINT = {
    "clip": ("CLIPModel", "text_model.embeddings.token_embedding.weight"),
    "siglip": ("SiglipModel", "text_model.embeddings.token_embedding.weight"),
    "gpt2": ("GPT2LMHeadModel", "transformer.wte.weight"),
}

# The public configs (text towers) of the real checkpoints.
REAL = {
    "clip_laion": dict(
        hidden_size=512,
        intermediate_size=2048,
        num_hidden_layers=12,
        num_attention_heads=8,
        projection_dim=512,
        max_position_embeddings=77,
        vocab_size=49408,
        hidden_act="gelu",
    ),
    "clip_large": dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        projection_dim=768,
        max_position_embeddings=77,
        vocab_size=49408,
        hidden_act="quick_gelu",
    ),
    "siglip": dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        projection_size=768,
        max_position_embeddings=64,
        vocab_size=32000,
        hidden_act="gelu_pytorch_tanh",
    ),
    "gpt2_medium": dict(
        n_embd=1024,
        n_layer=24,
        n_head=16,
        n_inner=None,
        n_positions=1024,
        vocab_size=50257,
        activation_function="gelu_new",
    ),
}
KEEP = {
    "clip": ("num_hidden_layers", "max_position_embeddings", "vocab_size", "hidden_act"),
    "siglip": ("num_hidden_layers", "max_position_embeddings", "vocab_size", "hidden_act"),
    "gpt2": ("n_layer", "n_positions", "vocab_size", "activation_function"),
}

# The slice of the data the 24-block pipeline runs on (the files are still read whole).
STS_PAIRS, WORD_PAIRS, LEXICON_WORDS = 60, 30, 30


def text_config(config):
    return getattr(config, "text_config", config)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Torch on one thread for this module: small stand-ins run tiny matrix products, which
    more threads only slow down (several times over on a busy two-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_settings(settings):
    return settings.with_(standin_size="small")


@pytest.fixture(scope="module")
def beyond_models(small_settings):
    """Every model of the ``beyond`` set as a small stand-in, loaded once."""
    return load_models(small_settings, MODEL_SETS["beyond"])


@pytest.fixture(scope="module")
def siglip(beyond_models):
    return beyond_models["siglip"]


# -------------------------------------------------------------------------- 1. loading


def test_the_beyond_set_is_the_paper_pair_and_the_four_new_models():
    assert MODEL_SETS["beyond"] == ("gpt2", "clip", *NEW)
    assert {k: MODELS[k].family for k in NEW} == {
        "clip_laion": "clip",
        "clip_large": "clip",
        "siglip": "siglip",
        "gpt2_medium": "gpt2",
    }


@pytest.mark.parametrize("key", NEW)
def test_each_new_model_loads_as_a_stand_in_through_from_pretrained(
    beyond_models, small_settings, key
):
    loaded = beyond_models[key]
    spec = MODELS[key]
    assert type(loaded.model) is CLASSES[key]
    assert loaded.blocks == BLOCKS[key] == text_config(standin_config(key)).num_hidden_layers
    # read by from_pretrained from the cached checkpoint folder, which holds the hub's whole model
    folder = standin_checkpoint(key, small_settings)
    assert loaded.model.config._name_or_path == str(folder)
    saved = json.loads((folder / "config.json").read_text())
    architecture, embedding = CHECKPOINT[spec.family]
    assert saved["architectures"] == [architecture]
    weights = load_file(folder / "model.safetensors")
    torch.testing.assert_close(
        loaded.model.get_input_embeddings().weight.detach(), weights[embedding]
    )
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    assert (
        marker["weights_sha256"] == sha256_of(folder / "model.safetensors") == loaded.weights_sha256
    )
    # what it says it is
    assert loaded.is_stand_in and loaded.standin_size == "small"
    assert (
        loaded.fingerprint
        == f"stand-in:{key}:small:seed{small_settings.standin_seed}:{loaded.weights_sha256}"
    )
    record = loaded.provenance()
    assert (record["key"], record["hub_id"], record["family"]) == (key, spec.hub_id, spec.family)
    assert record["source"] == "stand-in" and record["standin_size"] == "small"
    assert record["model_class"] == CLASSES[key].__name__
    assert record["pinned_commit"] is None and record["commit"] is None  # no real commit is claimed
    if key == "siglip":
        assert record["tokenizer"] == marker["tokenizer"] == unigram.LABEL
        assert "not SigLIP's vocabulary" in record["tokenizer"]
    else:  # the family's real tokenizer, the vocabulary of the paper's model of the family
        assert "tokenizer" not in record and "tokenizer" not in marker
        assert loaded.tokenizer.get_vocab() == beyond_models[spec.family].tokenizer.get_vocab()
    # one hidden state per block and the embedding output
    got = cached(loaded, progress=False)(["a dog runs on the beach"], ["mean"])["mean"]
    assert got.layers == hidden_layers(BLOCKS[key]) and got.values.shape[1:] == (
        BLOCKS[key] + 1,
        SMALL_WIDTH,
    )


@pytest.mark.parametrize("key", NEW)
def test_full_size_stand_in_configs_are_the_real_architectures(key):
    config = standin_config(key)  # the config alone: no full-size weights are built
    text = text_config(config)
    for name, value in REAL[key].items():
        assert getattr(text, name) == value, (key, name)
    if MODELS[key].family == "clip":  # the two-tower checkpoint's projection matches its text tower
        assert config.projection_dim == text.projection_dim == REAL[key]["projection_dim"]
    if MODELS[key].family != "gpt2":
        assert (
            config.vision_config.num_hidden_layers == _TINY_VISION["num_hidden_layers"]
        )  # never run


@pytest.mark.parametrize("key", NEW)
def test_small_stand_ins_keep_layers_vocabulary_and_positions(key):
    family = MODELS[key].family
    full, small = text_config(standin_config(key)), text_config(standin_config(key, "small"))
    for name in KEEP[family]:
        assert getattr(small, name) == getattr(full, name), (key, name)
    assert small.hidden_size == SMALL_WIDTH and small.num_attention_heads == 4
    if family == "clip":
        assert small.projection_dim == standin_config(key, "small").projection_dim == SMALL_WIDTH
    if key == "clip_laion":
        assert small.hidden_act == "gelu"  # LAION's activation stays


def test_the_paper_models_stand_ins_are_unchanged():
    """The configs the stand-ins had before the registry knew more models (written out here)."""
    narrow = dict(hidden_size=SMALL_WIDTH, intermediate_size=2 * SMALL_WIDTH, num_attention_heads=4)
    before = {
        ("gpt2", "full"): GPT2Config(),
        ("gpt2", "small"): GPT2Config(n_embd=SMALL_WIDTH, n_head=4),
        ("bert", "full"): BertConfig(),
        ("bert", "small"): BertConfig(**narrow),
        ("clip", "full"): CLIPConfig(
            text_config=CLIPTextConfig().to_dict(), vision_config=_TINY_VISION
        ),
        ("clip", "small"): CLIPConfig(
            text_config=CLIPTextConfig(**narrow, projection_dim=SMALL_WIDTH).to_dict(),
            vision_config={**_TINY_VISION, "projection_dim": SMALL_WIDTH},
            projection_dim=SMALL_WIDTH,
        ),
    }
    for (key, size), config in before.items():
        assert standin_config(key, size).to_dict() == config.to_dict(), (key, size)


# ---------------------------------------------------------------- 2. SigLIP's positions


def siglip_states(model, ids):
    """Every hidden state ``[13, 64, d]`` and the output of one unmasked pass, as SigLIP runs."""
    with torch.inference_mode():
        out = model.model(input_ids=torch.tensor([list(ids)]), output_hidden_states=True)
    return torch.stack(out.hidden_states)[:, 0].numpy(), out


def test_siglip_input_is_the_text_then_eos_then_padding_to_64(siglip):
    tok = siglip.tokenizer
    text = "A man is playing a flute."
    content = tok(text, add_special_tokens=False)["input_ids"]
    (e,) = encode(siglip, [text], "siglip")
    n = len(content)
    assert len(e.ids) == 64 == MODELS["siglip"].max_tokens and 1 < n < 63
    assert (
        tok.convert_ids_to_tokens([tok.eos_token_id, tok.pad_token_id]) == ["</s>", "</s>"]
        and tok.pad_token_id == 1
    )
    assert (
        list(e.ids[:n]) == content
        and e.ids[n] == tok.eos_token_id
        and set(e.ids[n + 1 :]) == {tok.pad_token_id}
    )
    assert (e.start, e.stop, e.cut) == (0, n, 0)
    # what SigLIP's processor feeds the model (padding="max_length")
    assert (
        list(e.ids) == tok(text, padding="max_length", max_length=64, truncation=True)["input_ids"]
    )


def test_siglip_token_choices_read_their_positions(siglip):
    text = "A man is playing a flute."
    (e,) = encode(siglip, [text], "siglip")
    n = e.stop
    got = cached(siglip, progress=False, seed=2)(
        [text], ["eos", "last_subtoken", "mean", "random_token"]
    )
    states, out = siglip_states(siglip, e.ids)
    assert (
        got["eos"].layers
        == (*hidden_layers(12), "final_ln", "projection")
        == layers_for("siglip", "eos")
    )
    np.testing.assert_allclose(got["eos"].values[0, :13], states[:, 63], atol=1e-5)
    assert not np.allclose(
        got["eos"].values[0, 1:13], states[1:, n], atol=1e-3
    )  # not the </s> after the text
    np.testing.assert_allclose(
        got["eos"].layer("final_ln")[0], out.last_hidden_state[0, 63], atol=1e-5
    )
    # the projection is SigLIP's own pooled output: its head at the last position
    np.testing.assert_allclose(got["eos"].layer("projection")[0], out.pooler_output[0], atol=1e-5)
    np.testing.assert_allclose(got["last_subtoken"].values[0], states[:, n - 1], atol=1e-5)
    assert not np.allclose(got["last_subtoken"].values[0], states[:, n], atol=1e-3)
    np.testing.assert_allclose(got["mean"].values[0], states[:, :n].mean(axis=1), atol=1e-5)
    drawn = got["random_token"].values[0]
    matches = [p for p in range(64) if np.allclose(drawn, states[:, p], atol=1e-5)]
    assert len(matches) == 1 and 0 <= matches[0] < n


def test_a_siglip_text_over_63_pieces_is_cut_and_still_ends_with_eos(siglip):
    tok = siglip.tokenizer
    text = " ".join(["strawberries and anisotropy are words"] * 12)
    content = tok(text, add_special_tokens=False)["input_ids"]
    assert len(content) > 63  # the case under test
    (e,) = encode(siglip, [text], "siglip")
    assert len(e.ids) == 64 and e.cut == len(content) - 63
    assert (
        list(e.ids[:63]) == content[:63]
        and e.ids[63] == tok.eos_token_id
        and (e.start, e.stop) == (0, 63)
    )
    assert (
        list(e.ids) == tok(text, padding="max_length", max_length=64, truncation=True)["input_ids"]
    )
    got = cached(siglip, progress=False)([text], ["last_subtoken", "eos"])
    states, _ = siglip_states(siglip, e.ids)
    np.testing.assert_allclose(got["last_subtoken"].values[0], states[:, 62], atol=1e-5)
    np.testing.assert_allclose(got["eos"].values[0, :13], states[:, 63], atol=1e-5)


def test_siglip_refuses_punctuation_only_text(siglip):
    with pytest.raises(EmbeddingError, match=r"Text 1 \('\?!'\) has no tokens"):
        encode(siglip, ["a dog", "?!"], "siglip")
    with pytest.raises(EmbeddingError, match="has no tokens"):
        cached(siglip, progress=False)(["..."], ["eos"])


def test_siglip_canonicalizes_case_and_punctuation(siglip):
    loud, plain = encode(siglip, ["A Man!", "a man"], "siglip")
    assert loud == plain
    got = cached(siglip, progress=False)(["A Man!", "a man"], ["eos", "mean"])
    np.testing.assert_array_equal(got["eos"].values[0], got["eos"].values[1])


# ------------------------------------------------------------ 3. batched = one at a time


@pytest.fixture(scope="module")
def texts_of_many_lengths(settings):
    sentences = data.unique_sentences(data.load_sts(settings))
    rng = np.random.default_rng(1)
    return [sentences[i] for i in rng.choice(len(sentences), 16, replace=False)] + [
        "strawberries",
        "a",
        "Dogs run.",
    ]


@pytest.mark.parametrize("key", NEW)
def test_batched_equals_one_at_a_time(beyond_models, texts_of_many_lengths, key):
    texts = list(texts_of_many_lengths)
    if key == "siglip":
        texts.append(" ".join(["strawberries and anisotropy are words"] * 12))  # cut to 63 pieces
    variants = ["eos", "mean", "last_subtoken", "random_token"]
    model = beyond_models[key]
    batched = cached(model, progress=False, token_budget=4096)(texts, variants)
    single = cached(model, progress=False, token_budget=1)(texts, variants)
    lengths = {len(e.ids) for e in encode(model, texts, "siglip" if key == "siglip" else "bare")}
    assert (
        len(lengths) > 1 or key == "siglip"
    )  # the texts really differ in length (SigLIP pads them all to 64)
    for variant in variants:
        assert batched[variant].values.shape == single[variant].values.shape
        assert batched[variant].values.shape[1] == len(
            layers_for(MODELS[key].family, variant, blocks=BLOCKS[key])
        )
        np.testing.assert_allclose(
            batched[variant].values,
            single[variant].values,
            atol=1e-5,
            rtol=0,
            err_msg=f"{key} {variant}",
        )


# --------------------------------------------------------- 4. the stand-in SentencePiece


@pytest.fixture(scope="module")
def evaluation_texts(settings):
    return wordpiece.evaluation_texts(settings)


@pytest.fixture(scope="module")
def unigram_tokenizer(evaluation_texts):
    return unigram.train(evaluation_texts)


def test_unigram_has_siglips_size_and_special_ids(unigram_tokenizer):
    tok = unigram_tokenizer
    assert type(tok).__name__ == "SiglipTokenizer"
    assert len(tok) == unigram.SIGLIP_VOCAB_SIZE == SiglipTextConfig().vocab_size == 32000
    assert tok.convert_ids_to_tokens([0, 1, 2]) == ["<pad>", "</s>", "<unk>"]
    assert (tok.eos_token_id, tok.pad_token_id, tok.unk_token_id) == (1, 1, 2)
    pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    learnt = [p for p in pieces[3:] if not p.startswith("<unused")]
    assert 1000 < len(learnt) <= unigram.TRAINED_PIECES
    assert pieces[3 : 3 + len(learnt)] == learnt  # the learnt pieces first, then only unused ones


def test_unigram_is_deterministic_and_learnt_from_its_texts(unigram_tokenizer, evaluation_texts):
    again = unigram.train(evaluation_texts)
    assert (
        again.sp_model.serialized_model_proto()
        == unigram_tokenizer.sp_model.serialized_model_proto()
    )
    other = unigram.train(evaluation_texts[::3])
    assert (
        other.sp_model.serialized_model_proto()
        != unigram_tokenizer.sp_model.serialized_model_proto()
    )


def test_unigram_never_produces_an_unused_id(unigram_tokenizer, evaluation_texts):
    tok = unigram_tokenizer
    unused = {
        i
        for i, p in enumerate(tok.convert_ids_to_tokens(list(range(len(tok)))))
        if p.startswith("<unused")
    }
    used = set(chain.from_iterable(tok(evaluation_texts, add_special_tokens=False)["input_ids"]))
    assert len(unused) > 20000 and len(used) > 1000
    assert not used & unused


def test_unigram_round_trips_through_save_pretrained(
    unigram_tokenizer, evaluation_texts, siglip, tmp_path
):
    unigram_tokenizer.save_pretrained(tmp_path)
    back = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    assert type(back).__name__ == "SiglipTokenizer" and len(back) == 32000
    assert (back.eos_token, back.pad_token, back.unk_token) == ("</s>", "</s>", "<unk>")
    sample = evaluation_texts[:300] + evaluation_texts[-100:]
    expected = unigram_tokenizer(sample, add_special_tokens=False)["input_ids"]
    assert back(sample, add_special_tokens=False)["input_ids"] == expected
    assert back("A Man!")["input_ids"] == back("a man")["input_ids"]
    assert (
        siglip.tokenizer(sample, add_special_tokens=False)["input_ids"] == expected
    )  # the stand-in's own copy


# ------------------------------------------------------- 5. a 24-block model through it all


@pytest.fixture(scope="module")
def depth_run(settings, beyond_models, tmp_path_factory):
    """GPT-2, CLIP and GPT-2 medium (small stand-ins) on a slice of the data: the results,
    the replicates and the tables of the chapter, from embeddings cached in the run's cache."""
    small = settings.with_(standin_size="small", cache_dir=tmp_path_factory.mktemp("beyond-cache"))
    models = {key: beyond_models[key] for key in ("gpt2", "clip", "gpt2_medium")}
    sentences = experiments.prepare_sentences(
        data.load_sts(settings).head(STS_PAIRS), models["clip"].tokenizer
    )
    full = experiments.load_word_data(settings)
    pairs = {task: frame.head(WORD_PAIRS) for task, frame in full.pairs.items()}
    words = experiments.WordData(pairs, full.lexicon.head(LEXICON_WORDS))
    embedders = reproduce.make_embedders(models, small, progress=False)
    boot = BootstrapSettings(replicates=100)
    scores = experiments.run_all(embedders, words, sentences)
    reps = experiments.replicates(embedders, words, sentences, boot)
    intervals, contrasts, verdicts, depths = experiments.beyond_tables(
        embedders, words, sentences, scores, boot
    )
    return SimpleNamespace(
        settings=small,
        models=models,
        words=words,
        sentences=sentences,
        boot=boot,
        scores=scores,
        reps=reps,
        intervals=intervals,
        contrasts=contrasts,
        verdicts=verdicts,
        depths=depths,
    )


def series(table: pd.DataFrame, result: str, model: str, variant: str, task: str) -> pd.DataFrame:
    return table[
        (table["result"] == result)
        & (table["model"] == model)
        & (table["variant"] == variant)
        & (table["task"] == task)
    ]


def test_every_result_of_gpt2_medium_has_layers_0_to_24(depth_run):
    scores = depth_run.scores
    medium = scores[scores["model"] == "gpt2_medium"]
    assert set(medium["result"]) == set(experiments.RESULTS)
    expected = [str(i) for i in range(25)]
    for key, group in medium.groupby(["result", "variant", "task"]):
        assert group["layer"].tolist() == expected, key
    for key, group in scores[scores["model"] == "gpt2"].groupby(["result", "variant", "task"]):
        assert group["layer"].tolist() == expected[:13], key
    assert len(medium.groupby(["result", "variant", "task"])) == len(
        scores[scores["model"] == "gpt2"].groupby(["result", "variant", "task"])
    )  # the same series as GPT-2
    assert medium["value"].notna().mean() > 0.9


def test_intervals_cover_all_25_layers_of_gpt2_medium(depth_run):
    intervals = depth_run.intervals
    medium = intervals[intervals["model"] == "gpt2_medium"]
    assert len(medium.groupby(["result", "variant", "task"])) >= 4 * 3
    for key, group in medium.groupby(["result", "variant", "task"]):
        assert group["layer"].tolist() == [str(i) for i in range(25)], key
    finite = medium.dropna(subset=["ci_low", "ci_high"])
    assert len(finite) > 0.9 * len(medium) and (finite["ci_low"] <= finite["ci_high"]).all()
    sts = series(medium, "sts", "gpt2_medium", "last_token", "stsb")
    assert sts[["ci_low", "ci_high"]].notna().all().all() and len(sts) == 25
    for key, r in depth_run.reps.items():  # the replicates themselves
        if key[1] == "gpt2_medium":
            assert r.layers == hidden_layers(24) and r.values.shape == (100, 25), key


def test_verdicts_restate_the_top_layer_as_24_for_gpt2_medium(depth_run):
    verdicts, scores = depth_run.verdicts, depth_run.scores
    assert list(verdicts.columns) == beyond.VERDICT_COLUMNS
    assert verdicts.groupby("model").size().to_dict() == {"gpt2": 3, "clip": 4, "gpt2_medium": 3}
    assert set(verdicts["interval"]) <= {"holds", "fails", "undecided"}
    top = verdicts[
        (verdicts["model"] == "gpt2_medium")
        & (verdicts["claim"] == "CWE self-similarity > .95 at the top")
    ]
    assert top["layers"].tolist() == ["24"] and top["role"].tolist() == ["gpt2"]
    at_24 = series(scores, "cwe_self_similarity", "gpt2_medium", "random_token", "sts_sentences")
    assert top["ours"].iloc[0] == pytest.approx(
        float(at_24.loc[at_24["layer"] == "24", "value"].iloc[0])
    )
    interval = series(
        depth_run.intervals, "cwe_self_similarity", "gpt2_medium", "random_token", "sts_sentences"
    )
    interval = interval[interval["layer"] == "24"]
    assert (top["ci_low"].iloc[0], top["ci_high"].iloc[0]) == pytest.approx(
        (interval["ci_low"].iloc[0], interval["ci_high"].iloc[0])
    )
    every = verdicts[
        (verdicts["model"] == "gpt2_medium") & (verdicts["claim"] == "STS-B ρ ≤ .45 in every layer")
    ]
    assert every["layers"].tolist() == ["0-24"]
    sts = scores[
        (scores["result"] == "sts")
        & (scores["model"] == "gpt2_medium")
        & scores["variant"].isin(["last_token", "eos"])
    ]
    assert every["ours"].iloc[0] == pytest.approx(sts["value"].max())
    paper_pair = verdicts[verdicts["model"] == "gpt2"]
    assert paper_pair.loc[
        paper_pair["claim"] == "CWE self-similarity > .95 at the top", "layers"
    ].tolist() == ["12"]
    for row in (
        verdicts.itertuples()
    ):  # a verdict of "holds" has both ends of its interval on the claim's side
        claim = next(
            c
            for c in beyond.restated_claims(
                row.model, MODELS[row.model].family, BLOCKS.get(row.model, 12)
            )
            if beyond.short_name(c) == row.claim
        )
        assert row.holds == claim.holds(row.ours)
        if row.interval == "holds":
            assert claim.holds(row.ci_low) and claim.holds(row.ci_high)


def test_depth_differences_pair_layer_2k_of_medium_with_layer_k_of_gpt2(depth_run):
    depths, scores = depth_run.depths, depth_run.scores
    assert list(depths.columns) == beyond.DEPTH_COLUMNS
    assert set(zip(depths["model"], depths["base"])) == {
        ("gpt2_medium", "gpt2"),
        ("clip", "gpt2_medium"),
    }
    rows = series(
        depths[depths["model"] == "gpt2_medium"], "sts", "gpt2_medium", "last_token", "stsb"
    )
    hidden = rows[rows["layer"] != "best"]
    assert hidden["layer"].tolist() == [str(2 * k) for k in range(13)]
    assert hidden["base_layer"].tolist() == [str(k) for k in range(13)]
    np.testing.assert_allclose(hidden["depth"], np.arange(13) / 12)
    medium = series(scores, "sts", "gpt2_medium", "last_token", "stsb").set_index("layer")["value"]
    small = series(scores, "sts", "gpt2", "last_token", "stsb").set_index("layer")["value"]
    expected = [medium[str(2 * k)] - small[str(k)] for k in range(13)]
    np.testing.assert_allclose(hidden["difference"], expected, atol=1e-9)
    assert (hidden["ci_low"] <= hidden["ci_high"]).all()
    best = rows[rows["layer"] == "best"]
    assert best["difference"].iloc[0] == pytest.approx(medium.max() - small.max())
    # a contrastive model against GPT-2 medium: its layer k beside medium's layer 2k, the paper's token choices
    clip = series(depths[depths["base"] == "gpt2_medium"], "sts", "clip", "eos", "stsb")
    clip = clip[(clip["base_variant"] == "last_token") & (clip["layer"] != "best")]
    assert list(zip(clip["layer"], clip["base_layer"])) == [(str(k), str(2 * k)) for k in range(13)]
    assert ("sts", ("eos", "last_token")) in [
        (r, pair) for r, pairs in COMPARED.items() for pair in pairs
    ]


def _line_xs(fig: plt.Figure, label: str) -> list[np.ndarray]:
    lines = [line for ax in fig.axes for line in ax.get_lines() if line.get_label() == label]
    return [np.asarray(line.get_xdata(), float) for line in lines]


def test_figures_put_gpt2_medium_on_a_relative_depth_axis(depth_run):
    scores = depth_run.scores.merge(
        depth_run.intervals, on=["result", "model", "variant", "task", "layer"], how="left"
    )
    paper_pair = scores[scores["model"].isin(["gpt2", "clip"])]
    for result in experiments.RESULTS:
        fig = plots.figure(scores, result, stand_in=True)
        try:
            medium = scores[(scores["result"] == result) & (scores["model"] == "gpt2_medium")]
            variants = sorted(set(medium["variant"]))
            for variant in variants:
                lines = _line_xs(fig, f"GPT-2 medium {variant}")
                assert lines, (result, variant)
                for xs in lines:
                    np.testing.assert_allclose(xs, np.arange(25) / 24)
                for xs in _line_xs(fig, f"GPT-2 {variant}"):
                    np.testing.assert_allclose(xs, np.arange(13) / 12)
            shown = [ax for ax in fig.axes if ax.get_visible()]
            assert all(ax.get_xlabel().startswith("relative depth") for ax in shown)
        finally:
            plt.close(fig)
        fig = plots.figure(paper_pair, result, stand_in=True)
        try:
            for xs in _line_xs(fig, "GPT-2 eos") + _line_xs(fig, "CLIP eos"):
                np.testing.assert_array_equal(xs, np.arange(13))
            assert _line_xs(fig, "GPT-2 eos") or result == "cwe_self_similarity"
            shown = [ax for ax in fig.axes if ax.get_visible()]
            assert all(ax.get_xlabel().startswith("layer") for ax in shown)
            assert all(ax.get_xlim()[1] < 15 for ax in shown)
        finally:
            plt.close(fig)


def test_clips_points_after_the_top_follow_depth_one(depth_run):
    rows = depth_run.scores[
        (depth_run.scores["result"] == "sts") & (depth_run.scores["task"] == "stsb")
    ].copy()
    rows["layer"] = rows["layer"].astype(str)
    fig, ax = plt.subplots()
    try:
        plots.draw_layers(ax, rows, "sts", "stsb")
        clip = plots.style("clip")["color"]
        extras = [
            line for line in ax.get_lines() if line.get_color() == clip and line.get_marker() == "D"
        ]
        xs = sorted(chain.from_iterable(line.get_xdata() for line in extras))
        np.testing.assert_allclose(xs, [1 + 1 / 12, 1 + 2 / 12])  # final layer norm, projection
        assert ax.get_xlim()[1] > 1 + 2 / 12
    finally:
        plt.close(fig)


def test_reproduce_writes_the_verdicts_and_depth_differences(depth_run, tmp_path, monkeypatch):
    """``reproduce.run`` on the same models and data: the chapter's tables as the fixture
    computed them, written as verdicts.csv and depth_differences.csv."""
    load_sts = data.load_sts
    monkeypatch.setattr(
        data, "load_sts", lambda settings, **options: load_sts(settings, **options).head(STS_PAIRS)
    )
    monkeypatch.setattr(experiments, "load_word_data", lambda _settings: depth_run.words)
    assert reproduce.beyond_the_pair(depth_run.models)
    run = reproduce.run(
        depth_run.settings, models=depth_run.models, bootstrap=depth_run.boot, progress=False
    )
    pd.testing.assert_frame_equal(run.verdicts, depth_run.verdicts, check_dtype=False)
    pd.testing.assert_frame_equal(run.depths, depth_run.depths, check_dtype=False)
    reproduce.write(run, tmp_path / "out")
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv", dtype={"layers": str})
    depths = pd.read_csv(
        tmp_path / "out" / "depth_differences.csv", dtype={"layer": str, "base_layer": str}
    )
    assert (verdicts["weights"] == "stand-in (random)").all() and len(verdicts) == len(
        depth_run.verdicts
    )
    assert "24" in set(verdicts.loc[verdicts["model"] == "gpt2_medium", "layers"])
    assert {"24", "best"} <= set(depths["layer"]) and "24" in set(depths["base_layer"])
    assert all((tmp_path / "out" / "figures" / f"{r}.png").is_file() for r in experiments.RESULTS)


def test_only_a_model_with_a_role_takes_the_run_beyond_the_pair(beyond_models):
    paper_pair = {key: beyond_models[key] for key in ("gpt2", "clip")}
    assert not reproduce.beyond_the_pair(paper_pair)
    assert not reproduce.beyond_the_pair(
        {**paper_pair, "bert": SimpleNamespace(spec=MODELS["bert"])}
    )
    assert reproduce.beyond_the_pair({**paper_pair, "siglip": beyond_models["siglip"]})


# --------------------------------------------------- 6. experiments.beyond, pure functions


def test_matched_layers_pair_equal_relative_depths():
    assert beyond.matched_layers(24, 12) == [(2 * k, k) for k in range(13)]
    assert beyond.matched_layers(12, 12) == [(k, k) for k in range(13)]
    assert beyond.matched_layers(24, 18) == [
        (0, 0),
        (4, 3),
        (8, 6),
        (12, 9),
        (16, 12),
        (20, 15),
        (24, 18),
    ]
    assert beyond.matched_layers(12, 24) == [(k, 2 * k) for k in range(13)]


CLIP_CLAIMS = {
    "CWE self-similarity < .25 in every layer",
    "RG65 ρ ≈ .88 (best layer)",
    "STS-B ρ ≈ .73 (best EOS layer)",
    "sentence self-similarity ≈ .25 at the top",
}
GPT2_CLAIMS = {
    "CWE self-similarity > .95 at the top",
    "STS-B ρ ≤ .45 in every layer",
    "EOS sentence self-similarity ≥ .97 in every layer",
}


def _abstract(model: str) -> dict[str, paper.Reported]:
    return {
        beyond.short_name(c): c
        for c in paper.REPORTED
        if c.source == "Abstract" and c.model == model
    }


@pytest.mark.parametrize(
    "key, family, blocks",
    [("siglip", "siglip", 12), ("clip_large", "clip", 12), ("clip_wide", "clip", 24)],
)
def test_clips_claims_restated_for_a_contrastive_tower(key, family, blocks):
    claims = {beyond.short_name(c): c for c in beyond.restated_claims(key, family, blocks)}
    assert set(claims) == CLIP_CLAIMS
    every = tuple(str(i) for i in range(blocks + 1))
    for name, original in _abstract("clip").items():
        claim = claims[name]
        assert claim.model == key
        assert (
            claim.result,
            claim.task,
            claim.variants,
            claim.statistic,
            claim.relation,
            claim.value,
        ) == (
            original.result,
            original.task,
            original.variants,
            original.statistic,
            original.relation,
            original.value,
        )
        assert claim.layers == ((str(blocks),) if name.endswith("at the top") else every), name


def test_gpt2s_claims_restated_for_gpt2_medium():
    claims = {beyond.short_name(c): c for c in beyond.restated_claims("gpt2_medium", "gpt2", 24)}
    assert set(claims) == GPT2_CLAIMS
    assert claims["CWE self-similarity > .95 at the top"].layers == ("24",)
    assert claims["STS-B ρ ≤ .45 in every layer"].layers == tuple(str(i) for i in range(25))
    assert claims["EOS sentence self-similarity ≥ .97 in every layer"].layers == tuple(
        str(i) for i in range(25)
    )
    assert all(c.model == "gpt2_medium" for c in claims.values())
    same = {beyond.short_name(c): c.layers for c in beyond.restated_claims("gpt2", "gpt2", 12)}
    assert same == {
        name: c.layers for name, c in _abstract("gpt2").items()
    }  # the paper's own claims, unchanged
    assert beyond.restated_claims("bert", "bert", 12) == []  # no role: nothing restated


# Synthetic replicates: `two(a, b)` is half a, half b, whose 95 % percentile interval is exactly (a, b).
B = 200


def two(a: float, b: float) -> np.ndarray:
    return np.r_[np.full(B // 2, a), np.full(B // 2, b)]


def synthetic(columns: dict[str, np.ndarray]) -> Replicates:
    layers = tuple(columns)
    values = np.stack([columns[layer] for layer in layers], axis=1)
    return Replicates(values, values[-1].copy(), layers)


def flat(a: float, b: float, layers=("0", "1", "2")) -> dict[str, np.ndarray]:
    return {layer: two(a, b) for layer in layers}


TOL = paper.APPROX_TOLERANCE
CWE, WORDS, STS, SENTENCES = (
    "cwe_self_similarity",
    "word_similarity",
    "sts",
    "sentence_self_similarity",
)
SYNTHETIC = {
    # g, a GPT-2 of 2 blocks: its top is layer "2"
    (CWE, "g", "random_token", "sts_sentences"): {
        "0": two(0.1, 0.2),
        "1": two(0.1, 0.2),
        "2": two(0.96, 0.99),
    },  # > .95: holds
    (STS, "g", "last_token", "stsb"): flat(0.6, 0.7),  # max ≤ .45: no end meets it, fails
    (STS, "g", "eos", "stsb"): flat(0.1, 0.2),
    (SENTENCES, "g", "eos", "sts_sentences"): {
        "0": two(0.99, 1),
        "1": two(0.95, 0.99),
        "2": two(0.99, 1),
    },  # min ≥ .97: undecided
    # c, a CLIP of 2 blocks; no CWE series: undefined
    (WORDS, "c", "last_subtoken", "rg65"): {
        "0": two(0.80, 0.88),
        "1": two(0.88, 0.80),
        "2": two(0.1, 0.1),
    },  # best re-chosen: (.88, .88)
    (WORDS, "c", "eos", "rg65"): flat(0.1, 0.1),
    (STS, "c", "eos", "stsb"): flat(0.5, 0.6),  # ≈ .73: wholly below the tolerance, fails
    (SENTENCES, "c", "eos", "sts_sentences"): {
        "0": two(0.25, 0.25),
        "1": two(0.25, 0.25),
        "2": two(0.2, 0.35),
    },  # both sides: undecided
    # s, a SigLIP of 2 blocks
    (CWE, "s", "random_token", "sts_sentences"): flat(0.1, 0.2),  # < .25: holds
    (WORDS, "s", "last_subtoken", "rg65"): flat(
        0.88 - TOL + 0.002, 0.88 + TOL - 0.002
    ),  # inside the tolerance: holds
    (WORDS, "s", "eos", "rg65"): flat(0.1, 0.1),
    (STS, "s", "eos", "stsb"): flat(0.80, 0.90),  # ≈ .73: wholly above the tolerance, fails
    (SENTENCES, "s", "eos", "sts_sentences"): {
        "0": two(0.25, 0.25),
        "1": two(0.25, 0.25),
        "2": two(0.25 - TOL - 0.002, 0.25),
    },  # undecided
}
EXPECTED_VERDICTS = {
    ("g", "CWE self-similarity > .95 at the top"): "holds",
    ("g", "STS-B ρ ≤ .45 in every layer"): "fails",
    ("g", "EOS sentence self-similarity ≥ .97 in every layer"): "undecided",
    ("c", "CWE self-similarity < .25 in every layer"): "undefined",
    ("c", "RG65 ρ ≈ .88 (best layer)"): "holds",
    ("c", "STS-B ρ ≈ .73 (best EOS layer)"): "fails",
    ("c", "sentence self-similarity ≈ .25 at the top"): "undecided",
    ("s", "CWE self-similarity < .25 in every layer"): "holds",
    ("s", "RG65 ρ ≈ .88 (best layer)"): "holds",
    ("s", "STS-B ρ ≈ .73 (best EOS layer)"): "fails",
    ("s", "sentence self-similarity ≈ .25 at the top"): "undecided",
}


def _synthetic_scores(reps: dict[tuple, Replicates]) -> pd.DataFrame:
    rows = [
        (result, model, variant, task, layer, value)
        for (result, model, variant, task), r in reps.items()
        for layer, value in zip(r.layers, r.point)
    ]
    return pd.DataFrame(rows, columns=["result", "model", "variant", "task", "layer", "value"])


def test_verdicts_read_the_interval_in_every_branch():
    reps = {key: synthetic(columns) for key, columns in SYNTHETIC.items()}
    models = {
        "g": beyond.ModelDepth("gpt2", 2),
        "c": beyond.ModelDepth("clip", 2),
        "s": beyond.ModelDepth("siglip", 2),
    }
    table = beyond.verdicts(_synthetic_scores(reps), reps, BootstrapSettings(replicates=B), models)
    assert list(table.columns) == beyond.VERDICT_COLUMNS
    assert dict(zip(zip(table["model"], table["claim"]), table["interval"])) == EXPECTED_VERDICTS
    assert dict(zip(table["model"], table["role"])) == {"g": "gpt2", "c": "clip", "s": "clip"}
    row = table.set_index(["model", "claim"])
    assert row.loc[("g", "CWE self-similarity > .95 at the top"), "layers"] == "2"
    assert row.loc[("g", "STS-B ρ ≤ .45 in every layer"), "layers"] == "0-2"
    # the best layer is re-chosen inside each replicate: layer 0 alone would give (.80, .88)
    rg65 = row.loc[("c", "RG65 ρ ≈ .88 (best layer)")]
    assert (rg65["ci_low"], rg65["ci_high"]) == pytest.approx((0.88, 0.88))
    # the worst layer likewise, for a "never falls below"
    eos = row.loc[("g", "EOS sentence self-similarity ≥ .97 in every layer")]
    assert (eos["ci_low"], eos["ci_high"]) == pytest.approx((0.95, 0.99))
    # our number: the top layer's value, or the best (worst) over layers and token choices
    assert row.loc[("g", "CWE self-similarity > .95 at the top"), "ours"] == pytest.approx(0.99)
    assert row.loc[("g", "STS-B ρ ≤ .45 in every layer"), "ours"] == pytest.approx(0.7)
    undefined = row.loc[("c", "CWE self-similarity < .25 in every layer")]
    assert np.isnan(undefined["ours"]) and np.isnan(undefined["ci_low"]) and not undefined["holds"]
    assert not row.loc[("g", "STS-B ρ ≤ .45 in every layer"), "holds"]  # .7 is above .455
    assert row.loc[("g", "CWE self-similarity > .95 at the top"), "holds"]


def test_with_depth_adds_relative_depth_and_nan_after_the_top():
    table = pd.DataFrame(
        {
            "model": ["m", "m", "m", "c", "c", "c", "c"],
            "layer": ["0", "12", "24", "6", "12", "final_ln", "projection"],
            "value": np.arange(7.0),
        }
    )
    out = beyond.with_depth(
        table, {"m": beyond.ModelDepth("gpt2", 24), "c": beyond.ModelDepth("clip", 12)}
    )
    np.testing.assert_allclose(out["depth"], [0, 0.5, 1, 0.5, 1, np.nan, np.nan])
    pd.testing.assert_frame_equal(out.drop(columns="depth"), table)  # the absolute layer stays


def test_comparisons_pair_each_model_with_its_role_and_every_gpt2():
    models = {
        key: beyond.ModelDepth(MODELS[key].family, BLOCKS.get(key, 12))
        for key in MODEL_SETS["beyond"]
    }
    pairs = {(model, base): compared for model, base, compared in beyond.comparisons(models)}
    same = {
        ("clip_laion", "clip"),
        ("clip_large", "clip"),
        ("siglip", "clip"),
        ("gpt2_medium", "gpt2"),
    }
    paper_choices = {
        (m, b)
        for m in ("clip", "clip_laion", "clip_large", "siglip")
        for b in ("gpt2", "gpt2_medium")
    }
    assert set(pairs) == same | (paper_choices - {("clip", "gpt2")})
    assert all(pairs[pair] is COMPARED for pair in paper_choices - {("clip", "gpt2")})
    assert pairs[("siglip", "clip")]["sts"] == (("eos", "eos"), ("mean", "mean"))
    assert pairs[("gpt2_medium", "gpt2")]["sts"] == tuple(
        (v, v) for v in experiments.SENTENCE_VARIANTS["gpt2"]
    )


def test_comparisons_and_verdicts_leave_out_a_model_without_a_role():
    """A BERT-family model run beside the chapter's (``--add-model bert:…``) has no claims
    to restate and nothing to be compared with at equal depth; it must not stop the run."""
    models = {
        "gpt2": beyond.ModelDepth("gpt2", 12),
        "clip": beyond.ModelDepth("clip", 12),
        "roberta-base": beyond.ModelDepth("bert", 12),
        "siglip": beyond.ModelDepth("siglip", 12),
    }
    pairs = [(model, base) for model, base, _ in beyond.comparisons(models)]
    assert sorted(pairs) == [("siglip", "clip"), ("siglip", "gpt2")]
    table = beyond.verdicts(
        pd.DataFrame(columns=["result", "model", "variant", "task", "layer", "value"]),
        {},
        BootstrapSettings(replicates=100),
        models,
    )
    assert (
        set(table["model"]) == {"gpt2", "clip", "siglip"}
        and (table["interval"] == "undefined").all()
    )


# ------------------------------------------------- 7. differences between unequal depths


def _deep_and_shallow(seed: int = 0, result: str = STS):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, (B, 13))
    deep = rng.uniform(0, 1, (B, 25))
    deep[:, ::2] = base + 0.1  # layer 2k of the deep model is layer k of the shallow one, plus .1
    scores = (
        np.zeros((1, 1)) if result in (STS, WORDS) else None
    )  # a rank correlation keeps its scores
    return (
        Replicates(deep, deep.mean(axis=0), hidden_layers(24), scores),
        Replicates(base, base.mean(axis=0), hidden_layers(12), scores),
    )


def test_paired_differences_refuse_models_of_different_depths():
    deep, shallow = _deep_and_shallow()
    reps = {(STS, "m", "eos", "stsb"): deep, (STS, "b", "eos", "stsb"): shallow}
    with pytest.raises(ValueError, match="differ in depth"):
        paired_differences(
            reps, "m", "b", {STS: (("eos", "eos"),)}, BootstrapSettings(replicates=B)
        )
    # the same depth with points after the top (CLIP's EOS) is compared layer by layer
    extra = Replicates(
        np.c_[shallow.values, shallow.values[:, :2]],
        np.r_[shallow.point, shallow.point[:2]],
        (*HIDDEN_LAYERS, "final_ln", "projection"),
    )
    assert hidden_count(extra.layers) == hidden_count(shallow.layers) == 13
    plain = Replicates(shallow.values, shallow.point, HIDDEN_LAYERS)
    rows = paired_differences(
        {(CWE, "m", "eos", "t"): extra, (CWE, "b", "eos", "t"): plain},
        "m",
        "b",
        {CWE: (("eos", "eos"),)},
        BootstrapSettings(replicates=B),
    )
    assert [row[4] for row in rows] == list(HIDDEN_LAYERS) and all(row[5] == 0 for row in rows)


def test_depth_differences_compare_matched_layers_of_synthetic_replicates():
    deep, shallow = _deep_and_shallow()
    boot = BootstrapSettings(replicates=B)
    reps = {(STS, "m", "eos", "stsb"): deep, (STS, "b", "eos", "stsb"): shallow}
    rows = pd.DataFrame(
        beyond.depth_differences(reps, "m", "b", {STS: (("eos", "eos"),)}, boot),
        columns=beyond.DEPTH_COLUMNS,
    )
    hidden = rows[rows["layer"] != "best"]
    assert list(zip(hidden["layer"], hidden["base_layer"])) == [
        (str(2 * k), str(k)) for k in range(13)
    ]
    np.testing.assert_allclose(
        hidden["difference"], 0.1, atol=1e-12
    )  # matched layers: exactly the shift
    np.testing.assert_allclose(hidden["ci_low"], 0.1, atol=1e-12)  # paired: no spread at all
    np.testing.assert_allclose(hidden["ci_high"], 0.1, atol=1e-12)
    best = rows[rows["layer"] == "best"]
    assert best["difference"].iloc[0] == pytest.approx(deep.point.max() - shallow.point.max())
    # a self-similarity has no best layer row
    deep, shallow = _deep_and_shallow(result=CWE)
    reps = {(CWE, "m", "random_token", "t"): deep, (CWE, "b", "random_token", "t"): shallow}
    rows = beyond.depth_differences(
        reps, "m", "b", {CWE: (("random_token", "random_token"),)}, boot
    )
    assert [row[6] for row in rows] == [str(2 * k) for k in range(13)]
