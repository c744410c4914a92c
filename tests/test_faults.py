"""Silent faults the rest of the fast suite lets through (issue 14).

Each test recomputes a number, a checkpoint or a label by an independent route and
fails if the package's answer differs:

1. word-level values (four word-pair tasks and ValNorm) against words embedded one at a
   time straight through the model, cosines by hand, scipy's correlations;
2. stand-in checkpoints, as written and as loaded, against models built here from the
   seed and the config;
3. the embedding cache: a wrong entry is never served, and weights, texts, token choice
   and seed each get their own entry;
4. stand-in labelling of everything ``cvsp reproduce`` writes, on a small input set;
5. what a run of ``tools/mutants.py`` found untested.

Everything is small (a few rows per task, a few texts; the word-level, embedding-cache
and labelling checks run the small stand-ins, 64 wide, since what they compare does not
depend on the width; the stand-in weights are checked at full size); fixtures are
module-scoped and nothing depends on the order the tests run in.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import removed_when_done
from safetensors.torch import load_file
from scipy import stats as sps
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, GPT2Config, GPT2LMHeadModel

from cvsp import data, experiments, plots, reproduce
from cvsp.cache import EmbeddingCache
from cvsp.embeddings import Embedder
from cvsp.models import load_model
from cvsp.registry import WEIGHTS_FILE
from cvsp.standins import STANDIN_MARKER, standin_checkpoint
from cvsp.stats import BootstrapSettings

ROWS_PER_TASK = 8
LEXICON_ROWS = 12
ATTRIBUTE_STEP = 3  # every third pleasant and unpleasant word (not the package's default lists)
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


# ------------------------------------------------------------------- 1. word level


@pytest.fixture(scope="module")
def small_words(settings) -> experiments.WordData:
    """A few rows of every word-pair task, spread over each file, a few lexicon words
    (shuffled) and a third of the attribute words."""
    full = experiments.load_word_data(settings)

    def spread(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
        step = max(1, len(frame) // rows)
        return frame.iloc[::step].iloc[:rows].reset_index(drop=True)

    pairs = {task: spread(frame, ROWS_PER_TASK) for task, frame in full.pairs.items()}
    # shuffled: the file is alphabetical, so a lexicon read back in sorted order would still line up
    lexicon = (
        spread(full.lexicon, LEXICON_ROWS).sample(frac=1, random_state=0).reset_index(drop=True)
    )
    return experiments.WordData(
        pairs,
        lexicon,
        pleasant=data.PLEASANT[::ATTRIBUTE_STEP],
        unpleasant=data.UNPLEASANT[1::ATTRIBUTE_STEP],
    )


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
    embedders = {key: Embedder(m, cache=None, progress=False) for key, m in small_models.items()}
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


# ------------------------------------------------------------- 2. stand-in weights

TINY_VISION = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=32,
    patch_size=16,
)


def _built_here(key: str, seed: int) -> dict[str, torch.Tensor]:
    """State dict of the full hub checkpoint with default configs, seeded here."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if key == "gpt2":
            model = GPT2LMHeadModel(GPT2Config())
        else:
            config = CLIPConfig(text_config=CLIPTextConfig().to_dict(), vision_config=TINY_VISION)
            model = CLIPModel(config)
    return model.state_dict()


def _distinct_storage(state: dict[str, torch.Tensor]) -> set[str]:
    """Keys of a state dict less those tied to an earlier key (GPT-2's lm_head)."""
    seen, keys = set(), set()
    for name, tensor in state.items():
        if tensor.data_ptr() not in seen:
            keys.add(name)
        seen.add(tensor.data_ptr())
    return keys


def _assert_same_tensors(
    got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], what: str
) -> None:
    assert got, what
    for name, tensor in got.items():
        assert name in expected, f"{what}: {name} is not in the model built here"
        assert tensor.dtype == expected[name].dtype and tensor.shape == expected[name].shape, (
            what,
            name,
        )
        assert torch.equal(tensor, expected[name]), f"{what}: {name} differs from the seeded model"


@pytest.fixture(scope="module")
def fresh_stand_ins(request, settings, tmp_path_factory):
    """``seed -> Settings`` whose cache holds checkpoints written now (gpt2 and clip at the
    settings' seed, clip at the next seed). The folder (1 GB) is removed with the module's
    last test, not kept to the end of the session with the shared runs (kept, as a failed
    test's folder is, when a test failed meanwhile)."""
    root = tmp_path_factory.mktemp("fresh-stand-ins")
    removed_when_done(request, root)
    seed = settings.standin_seed
    chosen = {s: settings.with_(cache_dir=root, standin_seed=s) for s in (seed, seed + 1)}
    standin_checkpoint("gpt2", chosen[seed])
    standin_checkpoint("clip", chosen[seed])
    standin_checkpoint("clip", chosen[seed + 1])
    return chosen


@pytest.fixture(scope="module")
def clip_next_seed(settings, fresh_stand_ins):
    return load_model("clip", fresh_stand_ins[settings.standin_seed + 1], device="cpu")


@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_stand_in_checkpoint_is_the_seeded_model(settings, models, fresh_stand_ins, key):
    """Every tensor cvsp writes, and every tensor of the model it loads, is the model
    built here from the same seed and config."""
    seed = settings.standin_seed
    expected = _built_here(key, seed)
    folder = standin_checkpoint(key, fresh_stand_ins[seed])
    written = load_file(str(folder / WEIGHTS_FILE))
    _assert_same_tensors(written, expected, f"{key} checkpoint written now")
    missing = _distinct_storage(expected) - set(written)
    assert not missing, f"{key} checkpoint lacks {sorted(missing)[:5]}"
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    assert marker["seed"] == seed
    # the model the fixtures loaded from the shared cache, through from_pretrained
    loaded = models[key].model.state_dict()
    prefix = "transformer." if key == "gpt2" else ""
    _assert_same_tensors({prefix + k: v for k, v in loaded.items()}, expected, f"loaded {key}")
    assert models[key].standin_seed == seed


def test_another_seed_gives_other_weights(settings, models, clip_next_seed):
    seed = settings.standin_seed
    expected = _built_here("clip", seed + 1)
    _assert_same_tensors(clip_next_seed.model.state_dict(), expected, "clip at the next seed")
    ours, theirs = models["clip"].model.state_dict(), clip_next_seed.model.state_dict()
    random = [k for k, v in ours.items() if v.is_floating_point() and v.numel() > 1 and v.std() > 0]
    assert len(random) > 50  # every tensor drawn at random (not the constant layer-norm ones)
    same = [k for k in random if torch.equal(ours[k], theirs[k])]
    assert not same, f"seeds {seed} and {seed + 1} share {same[:5]}"
    assert clip_next_seed.fingerprint != models["clip"].fingerprint


# ------------------------------------------------------------ 3. embedding cache

TEXTS = [
    "A man is playing a guitar on the street.",
    "Two dogs run through the tall grass together.",
    "strawberries",
    "The stock market fell sharply on Monday morning.",
    "a cat",
    "A woman slices an onion in the kitchen.",
]


def _fresh(loaded, texts, variant, seed: int = 0) -> np.ndarray:
    return Embedder(loaded, cache=None, seed=seed, progress=False)(texts, [variant])[variant].values


def _entries(folder) -> dict[str, np.ndarray]:
    return {p.name: np.load(p) for p in sorted(folder.glob("*.npy"))}


@pytest.mark.parametrize("bad", ["rows", "shape", "dtype"])
def test_wrong_cache_entry_is_recomputed_not_used(small_models, tmp_path, bad):
    """A readable entry with the wrong rows, shape or dtype is recomputed, never used.

    Guards the entry check of ``Embedder.__call__`` and ``random_draws``
    (``src/cvsp/embeddings.py``): a check of the row count alone lets ``shape`` and
    ``dtype`` through.
    """
    clip = small_models["clip"]
    expected = _fresh(clip, TEXTS, "eos")
    cache = EmbeddingCache(tmp_path)
    Embedder(clip, cache=cache, progress=False)(TEXTS, ["eos"])
    # the entry the cache reads for CLIP's eos: the file holding exactly those vectors
    path = tmp_path / next(
        name
        for name, a in _entries(tmp_path).items()
        if a.shape == expected.shape and np.allclose(a, expected, atol=TOLERANCE, rtol=0)
    )
    n, layers, dim = expected.shape
    rng = np.random.default_rng(0)
    entry = {
        "rows": np.concatenate([expected, expected[:1]]),  # one row too many
        "shape": rng.standard_normal((n, 13, 768)).astype(np.float32),  # GPT-2-sized, no extras
        "dtype": rng.standard_normal((n, layers, dim)),  # float64, not what was written
    }[bad]
    np.save(path, entry)
    again = Embedder(clip, cache=cache, progress=False)
    got = again(TEXTS, ["eos"])["eos"]
    assert again.forward_passes == len(TEXTS), f"a cache entry with the wrong {bad} was used"
    assert got.values.dtype == np.float32 and got.values.shape == expected.shape
    np.testing.assert_allclose(got.values, expected, atol=TOLERANCE, rtol=0)
    np.testing.assert_array_equal(np.load(path), got.values)  # and the entry is mended


def test_two_weight_sets_in_one_cache_folder_keep_their_own_vectors(
    models, clip_next_seed, tmp_path
):
    cache = EmbeddingCache(tmp_path)
    variants = ["eos", "mean"]
    first = Embedder(models["clip"], cache=cache, progress=False)
    ours = first(TEXTS, variants)
    files = len(_entries(tmp_path))
    other = Embedder(clip_next_seed, cache=cache, progress=False)
    theirs = other(TEXTS, variants)
    assert other.forward_passes == len(TEXTS), "other weights were served from the cache"
    assert len(_entries(tmp_path)) == 2 * files
    for variant in variants:
        np.testing.assert_allclose(
            theirs[variant].values, _fresh(clip_next_seed, TEXTS, variant), atol=TOLERANCE, rtol=0
        )
        assert not np.allclose(theirs[variant].values, ours[variant].values)
    back = Embedder(models["clip"], cache=cache, progress=False)
    again = back(TEXTS, variants)
    assert back.forward_passes == 0
    for variant in variants:
        np.testing.assert_array_equal(again[variant].values, ours[variant].values)


def test_changed_texts_token_choice_or_seed_get_their_own_entries(small_models, tmp_path):
    gpt2 = small_models["gpt2"]
    cache = EmbeddingCache(tmp_path)

    def embed(texts, variant, seed=0, passes=None):
        embedder = Embedder(gpt2, cache=cache, seed=seed, progress=False)
        before = len(_entries(tmp_path))
        values = embedder(texts, [variant])[variant].values
        if passes is not None:
            assert embedder.forward_passes == passes, (texts, variant, seed)
        np.testing.assert_allclose(
            values, _fresh(gpt2, texts, variant, seed), atol=TOLERANCE, rtol=0
        )
        return values, len(_entries(tmp_path)) - before

    base, added = embed(TEXTS, "last_subtoken", passes=len(TEXTS))
    assert added > 0
    assert embed(TEXTS, "last_subtoken", passes=0)[1] == 0  # the same call: all from the cache
    changed = [*TEXTS[:-1], "A zebra stands still."]
    assert embed(changed, "last_subtoken", passes=len(changed))[1] == added
    reordered, added_again = embed(TEXTS[::-1], "last_subtoken", passes=len(TEXTS))
    assert added_again == added
    np.testing.assert_allclose(reordered, base[::-1], atol=TOLERANCE, rtol=0)
    eos, _ = embed(TEXTS, "eos", passes=len(TEXTS))  # another input form: another pass
    mean, added_mean = embed(TEXTS, "mean", passes=len(TEXTS))  # not asked for before: not stored
    assert added_mean > 0 and embed(TEXTS, "mean", passes=0)[1] == 0
    assert not np.allclose(eos, base) and not np.allclose(mean, base)
    zero, _ = embed(TEXTS, "random_token", seed=0, passes=len(TEXTS))
    one, added_seed = embed(TEXTS, "random_token", seed=1, passes=len(TEXTS))
    assert added_seed > 0 and not np.allclose(zero, one)
    # choices asked for together in one pass are stored under each one's own key
    both = Embedder(gpt2, cache=cache, seed=2, progress=False)
    together = both(TEXTS, ["mean_no_first", "random_token"])
    assert both.forward_passes == len(TEXTS)
    np.testing.assert_array_equal(
        embed(TEXTS, "mean_no_first", passes=0)[0], together["mean_no_first"].values
    )
    np.testing.assert_array_equal(
        embed(TEXTS, "random_token", seed=2, passes=0)[0], together["random_token"].values
    )


# ------------------------------------------------------------ 4. stand-in labels


@pytest.fixture(scope="module")
def small_run(settings, small_models, small_words, tmp_path_factory) -> reproduce.Run:
    """:func:`cvsp.reproduce.run` on a few rows of every data set, with its own cache
    (small stand-ins: the labels do not depend on the width)."""
    sts = data.load_sts(settings).iloc[:16].reset_index(drop=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiments, "load_word_data", lambda _settings: small_words)
        patch.setattr(data, "load_sts", lambda _settings, **_options: sts)
        return reproduce.run(
            settings.with_(cache_dir=tmp_path_factory.mktemp("small-run")),
            models=small_models,
            progress=False,
            bootstrap=BootstrapSettings(replicates=100),
        )


def _write(run: reproduce.Run, out) -> list[str]:
    """``reproduce.write``; returns the suptitle of every figure it drew."""
    titles = []
    draw = plots.figure

    def spy(*args, **kwargs):
        fig = draw(*args, **kwargs)
        titles.append(fig.get_suptitle())
        return fig

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots, "figure", spy)
        reproduce.write(run, out)
    return titles


def _png_title(path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        return image.text.get("Title", "")


def test_stand_in_outputs_are_labelled_everywhere(small_run, tmp_path):
    assert small_run.stand_in
    out = tmp_path / "out"
    titles = _write(small_run, out)
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["warning"] == reproduce.STAND_IN_WARNING
    assert "STAND-IN" in provenance["warning"] and "RANDOM weights" in provenance["warning"]
    assert provenance["models_source"] == "stand-in"
    assert {m["source"] for m in provenance["models"].values()} == {"stand-in"}
    for table, rows in (
        ("scores.csv", small_run.scores),
        ("comparison.csv", small_run.comparison),
        ("differences.csv", small_run.differences),
    ):
        written = pd.read_csv(out / table)
        assert len(written) == len(rows) > 0, table
        assert set(written["weights"]) == {"stand-in (random)"}, table
    assert len(titles) == len(experiments.RESULTS)
    assert all(plots.STAND_IN_NOTE in title and "STAND-IN" in title for title in titles), titles
    for result in experiments.RESULTS:
        assert "STAND-IN" in _png_title(out / "figures" / f"{result}.png"), result
    assert reproduce.STAND_IN_WARNING in reproduce.summary(small_run)


def test_pretrained_outputs_carry_no_stand_in_label(small_run, tmp_path):
    """The other side of the label: the same tables written as a pretrained run."""
    pretrained = replace(
        small_run, stand_in=False, provenance={**small_run.provenance, "warning": None}
    )
    out = tmp_path / "out"
    titles = _write(pretrained, out)
    for table in ("scores.csv", "comparison.csv", "differences.csv"):
        assert set(pd.read_csv(out / table)["weights"]) == {"pretrained"}, table
    assert titles and not any("STAND-IN" in title for title in titles)
    assert "STAND-IN" not in _png_title(out / "figures" / "sts.png")
    assert reproduce.STAND_IN_WARNING not in reproduce.summary(pretrained)


# ------------------------------------------------- 5. found by tools/mutants.py


def test_weighted_self_similarity_of_one_layer_equals_its_slice_of_many():
    """The ``[n, d]`` branch of :func:`cvsp.stats.weighted_self_similarity` (used on one
    layer, as in chapter 1's note on seeds) agrees with the ``[n, L, d]`` branch; a
    mutant of it (``- square`` -> ``+ square``) survived the fast suite."""
    from cvsp import metrics, stats

    units = metrics.unit(np.random.default_rng(1).normal(size=(20, 3, 5)))
    counts = stats.resample_counts(stats.resample_indices(20, 40, seed=2), 20)
    many = stats.weighted_self_similarity(units, counts, np.float64)
    for layer in range(3):
        one = stats.weighted_self_similarity(units[:, layer], counts, np.float64)
        np.testing.assert_allclose(one, many[:, layer], atol=1e-12)
    ones = np.ones((1, 20))
    assert stats.weighted_self_similarity(units[:, 0], ones, np.float64)[0] == pytest.approx(
        metrics.self_similarity(units[:, 0]), abs=1e-12
    )
