"""The model registry and the BERT family: token positions on real local tokenizations,
batching, the stand-in tokenizer, and the registry's refusals (one sentence each)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from cvsp import experiments, wordpiece
from cvsp.cache import DiskStore
from cvsp.embeddings import cached
from cvsp.models import LoadedModel, _finish, load_models, read_checkpoint
from cvsp.registry import (
    FAMILIES,
    MODEL_SETS,
    MODELS,
    PAPER_MODELS,
    ModelSpec,
    ModelUnavailableError,
    parse_model,
    resolve_models,
)
from cvsp.settings import Settings
from cvsp.standins import _standin_seed
from cvsp.tokens import encode, layers_for


def one_sentence(message: str) -> bool:
    """One sentence: a single full stop (or ? or !) followed by a space or the end."""
    return len(re.findall(r"[.!?](?:\s|$)", message.strip())) == 1 and message.strip().endswith(".")


@pytest.fixture(scope="module")
def wordpiece_tokenizer(settings):
    return wordpiece.train(wordpiece.evaluation_texts(settings))


def small_bert(tokenizer, key: str = "bert", pooler: bool = False, seed: int = 0) -> LoadedModel:
    """A BERT of the real vocabulary size and 12 layers at a small width, random weights."""
    torch.manual_seed(seed)
    config = BertConfig(
        hidden_size=32, num_hidden_layers=12, num_attention_heads=2, intermediate_size=64
    )
    spec = ModelSpec(key, f"test/{key}", "bert", key.upper(), 512, "0" * 40, pooler=pooler)
    return LoadedModel(spec, BertModel(config).eval(), tokenizer, torch.device("cpu"), "stand-in")


def hidden_states(model: LoadedModel, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    with torch.inference_mode():
        out = model.model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    return torch.stack(out.hidden_states)[:, 0].numpy(), out.pooler_output[0].numpy()


# ----------------------------------------------------------------------- token positions


def test_bert_positions_on_a_real_local_tokenization(wordpiece_tokenizer):
    tok = wordpiece_tokenizer
    ids = tok("Ostracize")["input_ids"]  # the tokenizer's own [CLS] ... [SEP] handling
    pieces = tok.convert_ids_to_tokens(ids)
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and len(pieces) >= 4  # several subwords
    assert all(p.startswith("##") for p in pieces[2:-1]) and not pieces[1].startswith("##")
    model = small_bert(tok, pooler=True)
    got = cached(model, progress=False)(
        ["Ostracize"], ["cls", "mean", "last_subtoken", "random_token"]
    )
    states, pooled = hidden_states(model, ids)
    last = len(ids) - 2  # the word's last piece, just before [SEP]
    np.testing.assert_allclose(got["cls"].values[0, :13], states[:, 0], atol=1e-5)
    np.testing.assert_allclose(
        got["cls"].values[0, 13], pooled, atol=1e-5
    )  # the pooler, after layer 12
    assert got["cls"].layers[-1] == "pooler" and got["mean"].layers == layers_for("bert", "mean")
    np.testing.assert_allclose(got["last_subtoken"].values[0], states[:, last], atol=1e-5)
    assert not np.allclose(
        got["last_subtoken"].values[0], states[:, last + 1], atol=1e-3
    )  # not [SEP]
    np.testing.assert_allclose(
        got["mean"].values[0], states[:, 1 : last + 1].mean(axis=1), atol=1e-5
    )
    drawn = got["random_token"].values[0]
    matches = [p for p in range(len(ids)) if np.allclose(drawn, states[:, p], atol=1e-5)]
    assert len(matches) == 1 and 1 <= matches[0] <= last  # one of the word's own pieces


def test_encoder_form_wraps_text_in_cls_and_sep(wordpiece_tokenizer):
    model = small_bert(wordpiece_tokenizer)
    (e,) = encode(model, ["A man plays a flute."], "encoder")
    tok = wordpiece_tokenizer
    assert list(e.ids) == tok("A man plays a flute.")["input_ids"]
    assert (e.ids[0], e.ids[-1]) == (tok.cls_token_id, tok.sep_token_id) and (e.start, e.stop) == (
        1,
        len(e.ids) - 1,
    )
    assert (
        layers_for("bert", "cls") == layers_for("bert", "cls", pooler=False)
        and len(layers_for("bert", "cls", True)) == 14
    )


def test_bert_batched_equals_one_at_a_time(wordpiece_tokenizer, settings):
    from cvsp import data

    sentences = data.unique_sentences(data.load_sts(settings))[:30] + ["ostracize", "a"]
    model = small_bert(wordpiece_tokenizer, pooler=True)
    variants = ["cls", "mean", "last_subtoken", "random_token"]
    batched = cached(model, progress=False, token_budget=4096)(sentences, variants)
    single = cached(model, progress=False, token_budget=1)(sentences, variants)
    for variant in variants:
        np.testing.assert_allclose(
            batched[variant].values, single[variant].values, atol=1e-5, rtol=0, err_msg=variant
        )


# ------------------------------------------------------------------ stand-in tokenizer


def test_stand_in_wordpiece_is_deterministic_bert_sized_and_labelled(settings, wordpiece_tokenizer):
    again = wordpiece.train(wordpiece.evaluation_texts(settings))
    assert again.get_vocab() == wordpiece_tokenizer.get_vocab()
    assert len(wordpiece_tokenizer) == wordpiece.BERT_VOCAB_SIZE == BertConfig().vocab_size
    assert wordpiece_tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 4]) == list(
        wordpiece.SPECIAL_TOKENS
    )
    assert "[unused0]" in wordpiece_tokenizer.get_vocab()
    assert "not BERT's vocabulary" in wordpiece.LABEL


def test_stand_in_seeds_keep_the_paper_models_and_separate_bert_from_simcse():
    assert [_standin_seed(MODELS[k], 3) for k in PAPER_MODELS] == [3, 3]
    seeds = {_standin_seed(MODELS[k], 3) for k in ("bert", "simcse_unsup", "simcse_sup")}
    assert len(seeds) == 3


# ------------------------------------------------------------------------ the registry


def test_registry_entries_are_complete():
    """Every model the book reads is pinned: a full commit, or a ref with the public short
    hash its commit must start with (SimCSE's safetensors conversions)."""
    for spec in MODELS.values():
        assert spec.family in FAMILIES and spec.label and spec.verified
        if spec.commit_prefix is None:
            assert (
                re.fullmatch(r"[0-9a-f]{40}", spec.revision) and spec.pinned_commit == spec.revision
            ), spec.key
        else:
            assert re.fullmatch(r"refs/pr/\d+", spec.revision) and spec.pinned_commit is None, (
                spec.key
            )
            assert re.fullmatch(r"[0-9a-f]{7}", spec.commit_prefix), spec.key
    assert MODELS["bert"].revision == "86b5e0934494bd15c9632b12f734a8a67f723594"
    assert (MODELS["simcse_unsup"].revision, MODELS["simcse_unsup"].commit_prefix) == (
        "refs/pr/4",
        "8d6e532",
    )
    assert (MODELS["simcse_sup"].revision, MODELS["simcse_sup"].commit_prefix) == (
        "refs/pr/3",
        "d9aa2ff",
    )
    assert MODELS["simcse_unsup"].published_sha256.startswith("ffb787f1")


def test_a_pinned_ref_naming_another_commit_is_refused():
    from cvsp.hub import check_pin
    from cvsp.registry import ModelUnavailableError

    spec = MODELS["simcse_sup"]
    check_pin(spec, "refs/pr/3", "d9aa2ff" + "0" * 33)  # the verified commit
    check_pin(spec, "main", "2d82fab1" + "0" * 32)  # a revision the user named: not checked
    with pytest.raises(
        ModelUnavailableError, match="the pinned ref refs/pr/3 now names commit 90bd602"
    ):
        check_pin(spec, "refs/pr/3", "90bd602" + "0" * 33)
    check_pin(
        MODELS["gpt2"], MODELS["gpt2"].revision, MODELS["gpt2"].revision
    )  # a commit pin names itself
    assert MODELS["simcse_sup"].pooler and not MODELS["simcse_unsup"].pooler
    assert MODEL_SETS["paper"] == ("gpt2", "clip") and set(MODEL_SETS["paper"]) < set(
        MODEL_SETS["contrast"]
    )


def test_a_model_named_on_the_command_line_becomes_a_spec():
    spec = parse_model("bert:roberta-base@" + "a" * 40)
    assert (spec.key, spec.hub_id, spec.family, spec.revision) == (
        "roberta-base",
        "roberta-base",
        "bert",
        "a" * 40,
    )
    assert spec.max_tokens == FAMILIES["bert"].max_tokens and not spec.verified
    assert [s.key for s in resolve_models(("gpt2",), ("bert:roberta-base@main",))] == [
        "gpt2",
        "roberta-base",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("roberta:roberta-base@main", "Unknown model family 'roberta'"),
        ("bert:roberta-base", "Name the revision of roberta-base"),
        ("bert:roberta-base@", "Name the revision of roberta-base"),
        ("roberta-base", "Write a model as family:hub_id@revision"),
    ],
)
def test_the_registry_rejects_a_bad_model_in_one_sentence(text, expected):
    with pytest.raises(ModelUnavailableError) as caught:
        parse_model(text)
    assert str(caught.value).startswith(expected) and one_sentence(str(caught.value)), str(
        caught.value
    )


def test_the_same_model_twice_is_refused():
    with pytest.raises(ModelUnavailableError, match="named twice"):
        resolve_models(("gpt2", "clip"), ("gpt2:gpt2@main",))


def test_a_tokenizer_of_another_model_is_refused_in_one_sentence(small_models, wordpiece_tokenizer):
    bert = small_bert(wordpiece_tokenizer)
    with pytest.raises(ModelUnavailableError) as caught:
        _finish(bert.spec, bert.model, small_models["gpt2"].tokenizer, "cpu")
    message = str(caught.value)
    assert "does not belong to this model" in message and one_sentence(message), message


def test_a_checkpoint_of_another_family_is_refused_in_one_sentence(small_models, tmp_path):
    small_models["gpt2"].model.config.save_pretrained(tmp_path)  # a GPT-2 config named as a BERT
    spec = parse_model("bert:someone/not-a-bert@main")
    with pytest.raises(ModelUnavailableError) as caught:
        read_checkpoint(spec, tmp_path)
    message = str(caught.value)
    assert "is a 'gpt2' model, not a BERT-like encoder" in message and one_sentence(message), (
        message
    )


def test_an_unpinned_registry_model_needs_a_revision_before_any_download(settings, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing may be asked of any hub
    real = settings.with_(models="real", revisions={})
    unpinned = dataclasses.replace(
        MODELS["simcse_unsup"], revision=None, commit_prefix=None, verified=False
    )
    with pytest.raises(ModelUnavailableError) as caught:
        load_models(real, ("gpt2", unpinned))
    message = str(caught.value)
    assert "CVSP_SIMCSE_UNSUP_REVISION" in message and one_sentence(message), message


def test_revision_variables_cover_the_registry():
    settings = Settings.from_env(
        {"CVSP_SIMCSE_SUP_REVISION": "b" * 40, "CVSP_BERT_REVISION": "main"}
    )
    assert (
        settings.revision("simcse_sup", None) == "b" * 40
        and settings.revision("bert", "x") == "main"
    )


# ------------------------------------------------------------- experiments with more models


@pytest.fixture(scope="module")
def small_data(small_models, settings):
    from cvsp import data

    sentences = experiments.prepare_sentences(
        data.load_sts(settings).iloc[:30], small_models["clip"].tokenizer
    )
    words = experiments.load_word_data(settings)
    return experiments.WordData(
        {t: f.iloc[:10] for t, f in words.pairs.items()}, words.lexicon.iloc[:10]
    ), sentences


@pytest.fixture(scope="module")
def paper_embedders(small_models, tmp_path_factory):
    """GPT-2 and CLIP at a small width with their real tokenizers (12 layers, random weights)."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, GPT2Config, GPT2Model

    torch.manual_seed(0)
    small = {
        "gpt2": GPT2Model(GPT2Config(n_embd=32, n_head=2, n_layer=12)),
        "clip": CLIPTextModelWithProjection(
            CLIPTextConfig(
                hidden_size=32,
                intermediate_size=64,
                num_attention_heads=2,
                num_hidden_layers=12,
                projection_dim=32,
            )
        ),
    }
    cache = DiskStore(
        tmp_path_factory.mktemp("embeddings")
    )  # the paper models run once for the module
    return {
        k: cached(
            LoadedModel(
                MODELS[k],
                small[k].eval(),
                small_models[k].tokenizer,
                torch.device("cpu"),
                "stand-in",
            ),
            store=cache,
            progress=False,
        )
        for k in PAPER_MODELS
    }


def test_more_models_leave_the_paper_models_numbers_unchanged(
    paper_embedders, wordpiece_tokenizer, small_data
):
    words, sentences = small_data
    paper = paper_embedders
    extra = {
        "bert": cached(small_bert(wordpiece_tokenizer), progress=False),
        "simcse_sup": cached(
            small_bert(wordpiece_tokenizer, "simcse_sup", pooler=True, seed=1), progress=False
        ),
    }
    alone = experiments.run_all(paper, words, sentences)
    together = experiments.run_all({**paper, **extra}, words, sentences)
    pd_testing = pytest.importorskip("pandas").testing
    pd_testing.assert_frame_equal(
        together[together["model"].isin(PAPER_MODELS)].reset_index(drop=True), alone
    )
    bert_rows = together[together["model"] == "bert"]
    assert set(bert_rows["result"]) == set(experiments.RESULTS)
    assert set(bert_rows["variant"]) == {"random_token", "last_subtoken", "cls", "mean"}
    assert "pooler" in set(together.loc[together["model"] == "simcse_sup", "layer"])


def test_contrasts_are_paired_differences_of_each_pair(
    paper_embedders, wordpiece_tokenizer, small_data
):
    from cvsp.stats import BootstrapSettings

    words, sentences = small_data
    bert = small_bert(wordpiece_tokenizer)
    embedders = {
        **paper_embedders,
        "bert": cached(bert, progress=False),
        "simcse_unsup": cached(
            small_bert(wordpiece_tokenizer, "simcse_unsup", seed=2), progress=False
        ),
        "simcse_sup": cached(
            dataclasses.replace(bert, spec=dataclasses.replace(bert.spec, key="simcse_sup")),
            progress=False,
        ),
    }  # the same weights under another key
    boot = BootstrapSettings(replicates=100)
    intervals, contrasts = experiments.contrasts(embedders, words, sentences, boot)
    assert list(contrasts.columns) == experiments.CONTRAST_COLUMNS
    assert set(zip(contrasts["model"], contrasts["base"])) == {
        ("clip", "gpt2"),
        ("simcse_unsup", "bert"),
        ("simcse_sup", "bert"),
    }
    same = contrasts[
        contrasts["model"] == "simcse_sup"
    ]  # the same weights as BERT: paired, so exactly 0
    assert len(same) and (same["difference"].fillna(0) == 0).all()
    assert (same["ci_low"].fillna(0) == 0).all() and (same["ci_high"].fillna(0) == 0).all()
    other = contrasts[(contrasts["model"] == "simcse_unsup") & (contrasts["layer"] == "12")]
    assert (other["difference"].abs() > 0).all()
    assert {"bert", "simcse_unsup", "simcse_sup"} <= set(intervals["model"])
