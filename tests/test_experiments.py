"""The four results on small inputs: table shape, layers, and the 77-token rule."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from cvsp import data, experiments, intervals, metrics, reproduce, stats
from cvsp.cache import DiskStore
from cvsp.embeddings import cached, weights_per_token
from cvsp.settings import Settings
from cvsp.tokens import encode


@pytest.fixture(scope="module")
def embedders(small_models, tmp_path_factory):
    cache = DiskStore(tmp_path_factory.mktemp("embeddings"))  # each text list embedded once
    return {key: cached(m, store=cache, progress=False) for key, m in small_models.items()}


@pytest.fixture(scope="module")
def small_sentences(settings, small_models):
    sts = data.load_sts(settings).iloc[:30]
    return experiments.prepare_sentences(sts, small_models["clip"].tokenizer)


@pytest.fixture(scope="module")
def small_words(settings):
    full = experiments.load_word_data(settings)
    pairs = {task: frame.iloc[:20] for task, frame in full.pairs.items()}
    return experiments.WordData(pairs, full.lexicon.iloc[:30])


def _layer_counts(table: pd.DataFrame) -> dict:
    return table.groupby(["model", "variant", "task"]).size().to_dict()


def test_all_results_have_every_layer(embedders, small_words, small_sentences):
    table = experiments.run_all(embedders, small_words, small_sentences)
    assert list(table.columns) == experiments.COLUMNS
    assert set(table["result"]) == set(experiments.RESULTS)
    for (result, model, variant, task), group in table.groupby(
        ["result", "model", "variant", "task"]
    ):
        expected = [str(i) for i in range(13)]
        if model == "clip" and variant == "eos":
            expected += ["final_ln", "projection"]
        assert group["layer"].tolist() == expected, (result, model, variant, task)
    defined = table["value"].notna()
    assert (table.loc[defined, "note"] == "").all()
    assert table.loc[~defined, "note"].str.startswith("undefined").all()


def test_expected_variants_and_tasks(embedders, small_words, small_sentences):
    words = experiments.word_similarity(embedders, small_words)
    assert set(words["task"]) == {"rg65", "wordsim353", "simlex999", "simverb3500", "valnorm"}
    assert _layer_counts(words)[("clip", "eos", "rg65")] == 15
    assert _layer_counts(words)[("gpt2", "last_subtoken", "valnorm")] == 13
    sts = experiments.sts(embedders, small_sentences)
    assert set(zip(sts["model"], sts["variant"])) == {
        ("gpt2", "last_token"),
        ("gpt2", "eos"),
        ("gpt2", "mean"),
        ("gpt2", "mean_no_first"),
        ("clip", "eos"),
        ("clip", "mean"),
    }
    assert (sts["n"] == len(small_sentences.pairs)).all()


def test_sts_values_match_a_direct_computation(embedders, small_sentences):
    table = experiments.sts(embedders, small_sentences)
    pairs = small_sentences.pairs
    clip = embedders["clip"]
    left = clip(list(pairs["sentence1"]), ["eos"])["eos"].layer(12)
    right = clip(list(pairs["sentence2"]), ["eos"])["eos"].layer(12)
    expected = metrics.spearman(metrics.pair_cosines(left, right), pairs["score"].to_numpy())
    got = table.query("model == 'clip' and variant == 'eos' and layer == '12'")["value"].item()
    assert got == pytest.approx(expected, abs=1e-6)


def test_cwe_self_similarity_uses_one_random_token(embedders, small_sentences):
    table = experiments.cwe_self_similarity(embedders, small_sentences)
    emb = embedders["gpt2"](small_sentences.sentences, ["random_token"])["random_token"]
    got = table.query("model == 'gpt2' and variant == 'random_token'")["value"].to_numpy()
    np.testing.assert_allclose(got, metrics.self_similarity(emb.values), atol=1e-12)
    assert (table["n"] == len(small_sentences.sentences)).all()
    assert set(table["variant"]) == set(experiments.CWE_VARIANTS)


def test_77_token_limit_excludes_for_both_models(small_models):
    long = " ".join(["word"] * 80)
    sts = pd.DataFrame(
        {
            "score": [1.0, 2.0, 3.0],
            "sentence1": ["a cat", long, "a dog"],
            "sentence2": ["a hat", "x", "a log"],
        }
    )
    prepared = experiments.prepare_sentences(sts, small_models["clip"].tokenizer)
    assert prepared.excluded_pairs == 1 and prepared.excluded_sentences == 1
    assert long not in prepared.sentences and "x" in prepared.sentences
    assert prepared.pairs["sentence1"].tolist() == ["a cat", "a dog"]


def test_undefined_layers_get_a_reason():
    values, notes = experiments.per_layer(
        lambda layer: metrics.spearman(
            np.ones(4) if layer == 0 else np.arange(4.0), np.arange(4.0)
        ),
        2,
    )
    assert np.isnan(values[0]) and values[1] == pytest.approx(1.0)
    assert notes[0].startswith("undefined") and notes[1] == ""


def test_cwe_corpus_size_and_seeds(embedders, small_sentences):
    sizes = experiments.cwe_corpus_size(embedders, small_sentences, sizes=(3,), repeats=2)
    n = len(small_sentences.sentences)
    assert set(sizes["size"]) == {3, n} and len(sizes) == 2 * 13 * (2 + 1)
    full = sizes.query("size == @n and model == 'gpt2'")["value"].to_numpy()
    default = experiments.cwe_self_similarity(embedders, small_sentences)
    np.testing.assert_allclose(
        full, default.query("model == 'gpt2' and variant == 'random_token'")["value"], atol=1e-12
    )
    seeds = experiments.cwe_over_seeds(embedders, small_sentences, seeds=(0, 1))
    zero = seeds.query("seed == 0 and model == 'gpt2'")["value"].to_numpy()
    np.testing.assert_allclose(zero, full, atol=1e-6)  # seed 0 is the default draw
    assert not np.allclose(seeds.query("seed == 1 and model == 'gpt2'")["value"], zero)
    spread = experiments.seed_spread(seeds).set_index(["model", "layer"])
    assert len(spread) == 2 * 13 and (spread["seeds"] == 2).all()
    one = seeds.query("model == 'gpt2' and layer == '7'")["value"].to_numpy()
    row = spread.loc[("gpt2", "7")]
    assert row["mean"] == pytest.approx(one.mean()) and row["sd"] == pytest.approx(one.std(ddof=1))
    assert row["range"] == pytest.approx(abs(one[1] - one[0])) and row["low"] == pytest.approx(
        one.min()
    )


def test_seeds_of_one_pass_equal_seeds_drawn_alone(small_models, small_sentences, tmp_path):
    """Drawing several seeds in one forward pass gives each seed's own draw."""
    from cvsp.embeddings import cached

    together = cached(small_models["gpt2"], store=None, progress=False)
    draws = together.random_draws(small_sentences.sentences, "random_token", (3, 4), chunk=2)
    assert together.forward_passes == len(small_sentences.sentences)  # one pass for both seeds
    for seed in (3, 4):
        alone = cached(small_models["gpt2"], store=None, seed=seed, progress=False)
        expected = alone(small_sentences.sentences, ["random_token"])["random_token"].values
        np.testing.assert_allclose(draws[seed].values, expected, atol=1e-5)


def test_uncertainty_on_a_small_sample(embedders, small_words, small_sentences):
    from cvsp import paper, stats

    boot = stats.BootstrapSettings(replicates=100)
    intervals, differences, claims = experiments.uncertainty(
        embedders, small_words, small_sentences, boot
    )
    scores = experiments.run_all(embedders, small_words, small_sentences)
    merged = scores.merge(intervals, on=["result", "model", "variant", "task", "layer"], how="left")
    defined = merged[merged["value"].notna()]
    assert defined["ci_low"].notna().all()
    inside = (defined["ci_low"] <= defined["value"] + 1e-9) & (
        defined["value"] <= defined["ci_high"] + 1e-9
    )
    assert inside.mean() > 0.95
    # the point difference is the difference of the two series' values
    sts = scores.query("result == 'sts' and layer == '12'").set_index(["model", "variant"])["value"]
    row = differences.query(
        "result == 'sts' and clip_variant == 'eos' and gpt2_variant == 'last_token' and layer == '12'"
    )
    assert row["difference"].item() == pytest.approx(
        sts[("clip", "eos")] - sts[("gpt2", "last_token")], abs=1e-9
    )
    assert np.isfinite(row["t"].item()) and 0 <= row["p"].item() <= 1
    assert list(claims["claim"]) == [c.text for c in paper.REPORTED]
    again = experiments.uncertainty(embedders, small_words, small_sentences, boot)[0]
    pd.testing.assert_frame_equal(again, intervals)  # seeded: the same intervals
    one_thread = experiments.uncertainty(embedders, small_words, small_sentences, boot, workers=1)
    pd.testing.assert_frame_equal(one_thread[0], intervals)  # threads change nothing
    pd.testing.assert_frame_equal(one_thread[1], differences)
    other = experiments.uncertainty(
        embedders, small_words, small_sentences, stats.BootstrapSettings(100, seed=1)
    )[0]
    assert not np.allclose(other["ci_low"].fillna(0), intervals["ci_low"].fillna(0))


def _assert_same_replicates(ours: dict, theirs: dict) -> None:
    """The same series in the same order, every array equal to the bit (NaN where NaN) and of the same dtype."""
    assert list(ours) == list(theirs)
    for series, fresh in theirs.items():
        cached = ours[series]
        assert cached.layers == fresh.layers, series
        for name in ("values", "point", "scores", "gold"):
            a, b = getattr(fresh, name), getattr(cached, name)
            assert (a is None) == (b is None), (series, name)
            assert a is None or (a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)), (
                series,
                name,
            )


def test_replicates_cached_per_model_are_those_of_the_whole_set(
    embedders, small_words, small_sentences, settings, tmp_path, monkeypatch
):
    """Each model is resampled once, whichever set it joins; read back, its series are the
    ones the whole set gives, bit for bit and in the same order."""
    from cvsp import stats

    boot = stats.BootstrapSettings(replicates=100)
    here = settings.with_(cache_dir=tmp_path)
    whole = experiments.replicates(embedders, small_words, small_sentences, boot)
    computed, compute = [], experiments.replicates

    def counted(chosen, *args, **options):  # which models are resampled
        computed.append(sorted(chosen))
        return compute(chosen, *args, **options)

    monkeypatch.setattr(experiments, "replicates", counted)
    intervals.model_replicates(
        here, {"gpt2": embedders["gpt2"]}, small_words, small_sentences, boot
    )
    both = intervals.model_replicates(here, embedders, small_words, small_sentences, boot)
    assert computed == [["gpt2"], ["clip"]]
    _assert_same_replicates(both, whole)  # gpt2's read back, clip's just computed
    again = intervals.model_replicates(here, embedders, small_words, small_sentences, boot)
    assert len(computed) == 2  # read back: nothing resampled
    _assert_same_replicates(again, whole)
    damaged = next((tmp_path / "replicates").glob("*.npz"))
    damaged.write_bytes(
        damaged.read_bytes()[:1000]
    )  # e.g. a disk that filled up under another tool
    with pytest.warns(UserWarning, match="unreadable"):  # said, then computed again
        mended = intervals.model_replicates(here, embedders, small_words, small_sentences, boot)
    _assert_same_replicates(mended, whole)
    assert len(computed) == 3 and len(computed[-1]) == 1  # only the damaged model, computed again
    intervals.model_replicates(
        here, embedders, small_words, small_sentences, stats.BootstrapSettings(100, seed=1)
    )
    assert computed[-1] == ["clip", "gpt2"]  # another seed is another key


# ----------------------------------------------------------------- geometry chapter


def test_postprocessing_none_is_the_plain_result_and_centring_is_what_it_says(
    embedders, small_words, small_sentences
):
    table = experiments.postprocessed(
        embedders, small_words, small_sentences, transforms=("none", "centring")
    )
    plain = experiments.sts(embedders, small_sentences)
    none = table.query("transform == 'none' and result == 'sts'").merge(
        plain, on=["model", "variant", "layer"], suffixes=("", "_plain")
    )
    assert len(none) == 13 * 5  # GPT-2 last_token, eos, mean; CLIP eos, mean; layers 0-12
    np.testing.assert_allclose(none["value"], none["value_plain"], equal_nan=True)
    assert set(table["result"]) == {"sts", "sentence_self_similarity", "word_similarity"}
    # centring by hand: GPT-2's layer-7 mean vectors minus their mean, then STS
    vectors = (
        embedders["gpt2"](small_sentences.sentences, ["mean"])["mean"].layer(7).astype(np.float64)
    )
    centred = vectors - vectors.mean(axis=0)
    index = {s: i for i, s in enumerate(small_sentences.sentences)}
    left = [index[s] for s in small_sentences.pairs["sentence1"]]
    right = [index[s] for s in small_sentences.pairs["sentence2"]]
    expected = metrics.spearman(
        metrics.indexed_pair_cosines(centred, left, right),
        small_sentences.pairs["score"].to_numpy(),
    )
    got = table.query(
        "transform == 'centring' and result == 'sts' and model == 'gpt2' and variant == 'mean' and layer == '7'"
    )
    assert got["value"].item() == pytest.approx(expected, abs=1e-9)
    # word vectors are centred with the mean of the CWEs, not their own
    words = table.query("transform == 'centring' and result == 'word_similarity'")
    assert set(words["task"]) == set(small_words.pairs) | {"valnorm"}


def test_cross_fit_transforms_each_half_with_the_other_halfs_map(embedders, small_sentences):
    from cvsp import geometry

    texts = small_sentences.sentences
    folds = np.arange(len(texts)) % 2
    gpt2 = embedders["gpt2"]
    wrapped = experiments.Postprocessed(gpt2, "centring", lambda v: gpt2(texts, [v])[v], folds)
    got = wrapped(texts, ["eos"])["eos"].layer(5)
    raw = gpt2(texts, ["eos"])["eos"].layer(5)
    expected = geometry.fit_center(raw[folds == 1]).apply(raw[folds == 0])
    np.testing.assert_allclose(got[folds == 0], expected, atol=1e-9)
    assert not np.allclose(got[folds == 0], raw[folds == 0] - raw.mean(axis=0).astype(np.float64))
    with pytest.raises(ValueError):
        wrapped(texts[:5], ["eos"])


def test_abtt_sweep_starts_at_centring(embedders, small_sentences):
    sweep = experiments.abtt_sweep(embedders, small_sentences, layer="12", dimensions=(0, 3))
    assert list(sweep["D"]) == [0, 3, 0, 3]
    # D = 0 is centring of the EOS vectors
    table = experiments.postprocessed(
        embedders,
        experiments.WordData({}, pd.DataFrame(columns=["word", "valence"])),
        small_sentences,
        transforms=("centring",),
        cross_fit=True,
    )
    assert table["result"].isin(["sts", "sentence_self_similarity"]).all()
    assert sweep.query("D == 3")["value"].notna().all()


def test_rogue_alignment_overlap_and_shuffles(embedders, small_sentences, small_models):
    rogue = experiments.rogue_dimensions(embedders, small_sentences)
    cwe = experiments.cwe_self_similarity(embedders, small_sentences).query(
        "variant == 'random_token'"
    )
    merged = rogue.query("variant == 'random_token'").merge(cwe, on=["model", "layer"])
    np.testing.assert_allclose(merged["self_similarity"], merged["value"], atol=1e-9)
    assert (rogue["top1_share"] <= rogue["top3_share"] + 1e-12).all()

    geometry_table = experiments.alignment_uniformity(embedders, small_sentences)
    assert (geometry_table["pairs"] == (small_sentences.pairs["score"] > 4).sum()).all()
    assert (geometry_table["uniformity"] <= 1e-12).all() and (
        geometry_table["alignment"] >= 0
    ).all()
    assert len(geometry_table) == 13 * 5
    at_least = experiments.alignment_uniformity(
        embedders, small_sentences, strict=False, uniform=False
    )
    assert at_least["uniformity"].isna().all()  # alignment only
    assert (at_least["pairs"] == (small_sentences.pairs["score"] >= 4).sum()).all()
    just_below = experiments.alignment_uniformity(
        embedders, small_sentences, threshold=4 - 1e-9, uniform=False
    )
    np.testing.assert_allclose(at_least["alignment"], just_below["alignment"])  # same positives

    overlap_rho, table = experiments.lexical_overlap(embedders, small_sentences)
    assert -1 <= overlap_rho <= 1
    plain = experiments.sts(embedders, small_sentences).merge(
        table, on=["model", "variant", "layer"]
    )
    np.testing.assert_allclose(plain["value"], plain["rho"], equal_nan=True)

    shuffled = experiments.shuffled_similarity(
        embedders, small_sentences, small_models["clip"].tokenizer, sample=4, shuffles=2
    )
    assert (shuffled["pairs"] == 8).all() and len(shuffled) == 13 * 5
    assert shuffled["value"].between(-1, 1 + 1e-9).all()


def test_postprocessed_sts_intervals_surround_the_best_layer(
    embedders, small_words, small_sentences
):
    from cvsp import stats

    table = experiments.postprocessed_sts_intervals(
        embedders,
        small_sentences,
        stats.BootstrapSettings(replicates=200),
        transforms=("none", "whitening"),
    )
    assert len(table) == 4 and set(table["transform"]) == {"none", "whitening"}
    plain = experiments.sts(embedders, small_sentences).query(
        "variant == 'eos' and layer in @HIDDEN"
    )
    for model in ("gpt2", "clip"):  # noqa: B007 (the queries read it as @model)
        row = table.query("model == @model and transform == 'none'").iloc[0]
        assert row["value"] == pytest.approx(
            plain.query("model == @model")["value"].max(), abs=1e-9
        )
    assert (table["ci_low"] <= table["ci_high"]).all()

    # after postprocessed (and a cross-fit, which must leave them alone), the same table from
    # its pair cosines: no vector is embedded or moved again
    maps: dict = {}
    experiments.postprocessed(
        embedders, small_words, small_sentences, transforms=("none", "whitening"), maps=maps
    )
    experiments.postprocessed(
        embedders,
        small_words,
        small_sentences,
        transforms=("none", "whitening"),
        cross_fit=True,
        maps=maps,
    )

    def refuse(texts, variants):
        raise AssertionError("embedded again")

    reused = experiments.postprocessed_sts_intervals(
        {key: refuse for key in embedders},
        small_sentences,
        stats.BootstrapSettings(replicates=200),
        transforms=("none", "whitening"),
        maps=maps,
    )
    pd.testing.assert_frame_equal(reused, table)
    # other pairs of the same sentences are other inputs: their cosines are computed, not read
    swapped = dataclasses.replace(
        small_sentences,
        pairs=small_sentences.pairs.rename(
            columns={"sentence1": "sentence2", "sentence2": "sentence1"}
        ),
    )
    with pytest.raises(AssertionError, match="embedded again"):
        experiments.postprocessed_sts_intervals(
            {key: refuse for key in embedders},
            swapped,
            stats.BootstrapSettings(replicates=200),
            ("none",),
            maps=maps,
        )


def test_replicates_use_the_cores_but_at_most_four_threads(monkeypatch):
    from cvsp.experiments import bootstrap

    for cores, threads in ((64, 4), (4, 4), (2, 2), (None, 1)):
        monkeypatch.setattr(bootstrap.os, "cpu_count", lambda cores=cores: cores)
        assert bootstrap.default_threads() == threads, cores


HIDDEN = [str(i) for i in range(13)]


def test_a_failing_series_cancels_the_series_still_waiting():
    """An error in one series ends the replicates at once: the series not yet started are
    cancelled, not computed in vain before the error reaches the user."""
    import time

    from cvsp.experiments.bootstrap import _Jobs

    def fail():
        raise ValueError("a series failed")

    jobs = _Jobs(1)
    jobs.submit(("fails",), fail)
    for i in range(20):
        jobs.submit((i,), time.sleep, 0.05)
    with pytest.raises(ValueError, match="a series failed"):
        jobs.results()
    assert sum(job.cancelled() for job in jobs.jobs.values()) >= 15


def test_no_more_large_series_wait_or_run_than_there_are_threads():
    """A self-similarity series holds an ``[n, L, d]`` array (about 100 MB per sentence
    variant) while it waits or runs: at most ``threads`` of them are held at once."""
    import time

    from cvsp.experiments.bootstrap import _Jobs

    jobs, held = _Jobs(2), []
    for i in range(6):
        jobs.submit_large((i,), time.sleep, 0.3)
        held.append(sum(not jobs.jobs[(k,)].done() for k in range(i + 1)))
    jobs.results()
    assert max(held) == 2, held


def test_the_trace_records_each_forward_pass_and_bootstrap(
    settings, small_models, small_words, small_sentences, tmp_path
):
    """CVSP_TRACE: one line per forward pass (its texts, tokens and FLOPs) and one per
    bootstrap run; the benchmark's compute floor of each page is read from it."""
    trace = tmp_path / "trace.jsonl"
    here = Settings.from_env({"CVSP_TRACE": str(trace), "CVSP_CACHE_DIR": str(tmp_path / "cache")})
    assert here.trace == trace and Settings.from_env({}).trace is None
    embedders = reproduce.make_embedders(small_models, here, progress=False)
    texts = small_sentences.sentences[:7]
    embedders["gpt2"](texts, ["mean", "eos"])  # two input forms: two passes
    intervals.model_replicates(
        here, embedders, small_words, small_sentences, stats.BootstrapSettings(replicates=100)
    )
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    first, second = lines[:2]
    model = small_models["gpt2"]
    bare = sum(len(e.ids) for e in encode(model, texts, "bare"))
    assert {first["work"], second["work"]} == {"forward"} and first["texts"] == second["texts"] == 7
    assert sorted([first["tokens"], second["tokens"]]) == [
        bare,
        bare + 2 * 7,
    ]  # eos_wrapped adds two a text
    assert first["flops"] == 2 * weights_per_token(model) * first["tokens"]
    assert weights_per_token(model) < sum(
        p.numel() for p in model.model.parameters()
    )  # tables left out
    boot = [line for line in lines if line["work"] == "bootstrap"]
    assert len(boot) == 1 and boot[0]["models"] == ["clip", "gpt2"] and boot[0]["replicates"] == 100
    assert boot[0]["series"] > 0 and boot[0]["seconds"] > 0
    passes = [line for line in lines if line["work"] == "forward"]
    assert sum(line["texts"] for line in passes) == sum(
        e.forward_passes for e in embedders.values()
    )
