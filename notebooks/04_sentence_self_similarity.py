# %% [markdown]
# # Self-similarity of sentence embeddings
#
# ## Overview
#
# {doc}`01_cwe_anisotropy` measured how much the vectors of *words* crowd together. This
# chapter asks the same of *sentence* vectors: if every sentence gets nearly the same
# vector, cosine similarity cannot tell sentences apart, which could explain part of
# GPT-2's weak results in {doc}`03_sts`.
#
# **Objectives.** After this chapter you can
#
# - compute the {term}`self-similarity` of sentence vectors per layer and token choice;
# - relate a layer's self-similarity to its STS score;
# - see why layer 0 of an {term}`EOS` token says nothing about meaning.
#
# **Prerequisites.** Necessary: {doc}`01_cwe_anisotropy` (self-similarity) and
# {doc}`03_sts` (sentence token choices). Helpful: centring and principal directions.
#
# **Time.** Reading: about 10 minutes. Replayed (the default when you open it in
# Colab or Binder): seconds. Computed: seconds once any of chapters 1-3 has cached the
# sentence vectors (the intervals the four chapters share are computed together);
# otherwise minutes, as the chapter's session prints before it starts. A GPU is faster.
#
# **Downloads.** Nothing beyond chapter 1. Stand-in builds fetch the tokenizers instead
# of the weights (a few MB).

# %% tags=["remove-cell"]
# Set-up. This chapter replays the tables of the published book: it runs in seconds, with
# no model and no PyTorch, and shows what the book's page shows. To recompute everything
# with the real models instead, set REPLAY = None; the next cell then prints what that
# will download, store and take before anything is fetched.
REPLAY = "https://cvsp-reproduction.github.io/cvsp/replay/"

import importlib.util
import subprocess
import sys

# Colab or a fresh environment: install the package (computing also needs PyTorch)
if importlib.util.find_spec("cvsp") is None or (
    REPLAY is None and importlib.util.find_spec("torch") is None
):
    requirement = (
        "cvsp @ git+https://github.com/cvsp-reproduction/cvsp@v0.1.0"
        if REPLAY
        else "cvsp[compute] @ git+https://github.com/cvsp-reproduction/cvsp@v0.1.0"
    )
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=True)

# %% tags=["hide-input", "remove-output"]
from cvsp import experiments, notebook, paper, plots
from cvsp.notebook import glue

session = notebook.start("04_sentence_self_similarity", replay=REPLAY)

# %% [markdown]
# ## The paper's claim
#
# {cite:t}`wolfe2022contrastive` report (abstract) that the self-similarity of CLIP's
# sentence embeddings falls layer over layer, to {glue:text}`paper_clip_top:.2f` in the
# top layer, while that of GPT-2's EOS token rises and never falls below
# {glue:text}`paper_gpt2_floor:.2f`.

# %% tags=["hide-input"]
claims = {c.model: c for c in paper.reported("sentence_self_similarity")}
glue("paper_clip_top", claims["clip"].value)
glue("paper_gpt2_floor", claims["gpt2"].value)
paper.reported_table("sentence_self_similarity")

# %% [markdown]
# ## Method
#
# The corpus is the unique sentences of the STS Benchmark test set that fit CLIP's
# 77-token context. Each sentence gets one vector per layer with the token choices of
# {doc}`03_sts` (CLIP `eos` and `mean`; GPT-2 `last_token`, `eos`, `mean` and
# `mean_no_first`), and the self-similarity of a layer is the mean cosine similarity
# over all distinct pairs of sentence vectors,
#
# $$
# s^{(\ell)} = \frac{1}{n(n-1)} \sum_{i \ne j} \cos\left(v_i^{(\ell)}, v_j^{(\ell)}\right).
# $$
#
# The vectors are the very ones of {doc}`03_sts`, read from the shared cache.

# %% [markdown]
# ## Our run

# %%
scores = session.table(experiments.sentence_self_similarity, session.embedders, session.sentences)
scores = session.with_intervals(scores)  # 95 % bootstrap interval of every value
notebook.layer_table(scores)

# %% tags=["remove-cell"]
hidden = [str(layer) for layer in range(13)]
clip_eos = scores.query("model == 'clip' and variant == 'eos'").set_index("layer")["value"]
gpt2_eos = scores.query("model == 'gpt2' and variant == 'eos'").set_index("layer")["value"]
glue("weights", session.weights_label())
glue("n_sentences", len(session.sentences.sentences))
glue("ours_clip_top", clip_eos["12"])
glue("ours_clip_first", clip_eos["0"])
glue("ours_gpt2_min", gpt2_eos[hidden].min())
glue("ours_gpt2_min_layer", gpt2_eos[hidden].idxmin())
clip_row = scores.query("model == 'clip' and variant == 'eos' and layer == '12'").iloc[0]
glue("ours_clip_top_ci", notebook.interval(clip_row["ci_low"], clip_row["ci_high"]))
floor = next(c for c in paper.reported("sentence_self_similarity") if c.model == "gpt2")
glue("ours_gpt2_min_ci", session.claim_interval(floor))

# %% [markdown]
# Self-similarity of {glue:text}`n_sentences` sentence vectors per model, token choice
# and layer, with {glue:text}`weights`.

# %% [markdown]
# ## Figure

# %% mystnb={"figure": {"caption": "Self-similarity of sentence embeddings of the STS Benchmark sentences in each layer. GPT-2 red circles, CLIP blue triangles; solid lines the EOS token, dashed GPT-2's last token, dotted mean pooling, dash-dotted GPT-2's mean without its first position; diamonds CLIP's final layer norm and projection; cross: the paper's CLIP value at the top layer (.25); sparse dotted line: its bound for GPT-2's EOS token (at least .97).", "name": "fig-sentence-self-similarity"}, "image": {"alt": "Line chart: mean cosine between different sentences' vectors (vertical axis, 0 to 1) in each layer from 0 to 12. Red GPT-2 lines with circles and blue CLIP lines with triangles, one per token choice, blue diamonds at the right for CLIP's last two steps, a black cross at the paper's 0.25 for CLIP's top layer and a dotted horizontal line at 0.97 for GPT-2."}} tags=["hide-input"]
notebook.show(plots.figure(scores, "sentence_self_similarity", session.stand_in))

# %% [markdown]
# ## Comparison with the paper
#
# CLIP's EOS self-similarity goes from {glue:text}`ours_clip_first:.3f` at layer 0 to
# {glue:text}`ours_clip_top:.3f` at layer 12 (95 % interval {glue:text}`ours_clip_top_ci`,
# sentences resampled; paper: {glue:text}`paper_clip_top:.2f`). GPT-2's EOS
# self-similarity is lowest at layer {glue:text}`ours_gpt2_min_layer`, with
# {glue:text}`ours_gpt2_min:.3f` ({glue:text}`ours_gpt2_min_ci`, the lowest layer
# re-chosen in every resample; paper: never below {glue:text}`paper_gpt2_floor:.2f`).

# %% tags=["hide-input"]
notebook.comparison_table(scores, "sentence_self_similarity", session.claims())

# %% [markdown]
# ### The two models, paired
#
# Resampling the same sentences for both models gives the interval of their difference
# in every layer ({numref}`fig-sentence-difference`).

# %% mystnb={"figure": {"caption": "CLIP minus GPT-2 sentence self-similarity in each layer, for the EOS token and for mean pooling, with 95 % paired bootstrap bands (by default 2,000 resamples of the sentences, the same for both models). Below zero: CLIP's sentence vectors are spread more widely.", "name": "fig-sentence-difference"}, "image": {"alt": "Line chart: CLIP's sentence self-similarity minus GPT-2's (vertical axis) in each layer from 0 to 12, two lines, one for the EOS token and one for mean pooling, each inside a shaded band, with a grey line at zero."}} tags=["hide-input"]
notebook.show(
    plots.differences_figure(
        session.differences("sentence_self_similarity"),
        "sentence_self_similarity",
        session.stand_in,
    )
)

# %% tags=["hide-input"]
notebook.differences_table(session.differences("sentence_self_similarity"), layers=("0", "6", "12"))

# %% [markdown]
# ## What differs and why
#
# - **The corpus.** We use each distinct STS test sentence once. The authors' released
#   script computes this statistic over the first sentence of each pair its reader keeps,
#   duplicates included (`sentence_evaluations.py`, line 113);
#   {doc}`05_reproducing_the_reproduction` measures what that changes.
# - **Layer 0 of an EOS token** is the same EOS embedding for every sentence plus a
#   position embedding, so it depends only on the sentence's length, not its words; how
#   high the curves start depends on how large the position embeddings are beside the
#   EOS embedding.
# - **Stand-in builds** have random weights: the curves only show how random residual
#   streams mix, nothing about either model's training.

# %% [markdown]
# ## Exercises
#
# ```{exercise} Predict, then compute · medium · 15 min
# :label: ex-sss-centering
# Anisotropy can be removed after the fact by subtracting the mean vector. Predict first:
# what will the self-similarity of GPT-2's layer-12 EOS vectors be once they are centred?
# Then centre them and recompute it. What is left, and what does it suggest for STS?
# ```
#
# ```{solution-start} ex-sss-centering
# :class: dropdown
# ```

# %% tags=["raises-exception"]
import pandas as pd

from cvsp import metrics

sentences = session.sentences
vectors = session.embedders["gpt2"](sentences.sentences, ["eos"])["eos"].layer(12)
centered = vectors - vectors.mean(axis=0)
index = {s: i for i, s in enumerate(sentences.sentences)}
left = [index[s] for s in sentences.pairs["sentence1"]]
right = [index[s] for s in sentences.pairs["sentence2"]]
gold = sentences.pairs["score"].to_numpy()
rows = {}
for name, v in (("as embedded", vectors), ("centered", centered)):
    cosines = metrics.pair_cosines(v[left], v[right])
    rows[name] = {
        "self-similarity": metrics.self_similarity(v),
        "STS Spearman rho": metrics.spearman(cosines, gold),
    }
pd.DataFrame(rows).T.round(4)

# %% [markdown]
# After centering, the mean pairwise cosine is close to zero: the centered vectors sum
# to zero, so no direction is common to all of them (their unit vectors only nearly sum
# to zero, so the value is near, not exactly, $-1/(n-1)$). Whether the STS score moves
# tells how much of GPT-2's weakness on STS is this shared direction rather than
# missing meaning; {doc}`06_geometry` takes the question further.
#
# ```{solution-end}
# ```
#
# ```{exercise} Interpret · medium · 15 min
# :label: ex-sss-relation
# Using the tables of this chapter and {doc}`03_sts`, is a layer with lower sentence
# self-similarity also a layer with a higher STS score? Compute the correlation over
# CLIP's 13 EOS layers.
# ```
#
# ```{solution-start} ex-sss-relation
# :class: dropdown
# ```

# %% tags=["raises-exception"]
from cvsp import metrics

# STS of chapter 3, for CLIP only, from the vectors this chapter already embedded
sts = experiments.sts({"clip": session.embedders["clip"]}, session.sentences)
key = "model == 'clip' and variant == 'eos' and layer in @hidden"  # layers 0-12
self_similarity = scores.query(key).set_index("layer")["value"]
sts_score = sts.query(key).set_index("layer")["value"].reindex(self_similarity.index)
rho = metrics.spearman(self_similarity.to_numpy(), sts_score.to_numpy())
print(f"Spearman's rho of self-similarity and STS over CLIP's 13 EOS layers: {rho:.3f}")

# %% [markdown]
# A strongly negative value fits the paper's reading that spreading sentence vectors
# apart goes with encoding finer semantic distinctions; over the 13 layers of one model
# it is a correlation of two trends with depth, and cannot show that one causes the
# other.
#
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - Sentence self-similarity is the mean pairwise cosine of sentence vectors.
# - The paper's abstract finds CLIP's falling to .25 in the top layer and GPT-2's EOS
#   token at .97 or above in every layer: GPT-2's EOS token gives nearly every sentence
#   the same direction.
#
# ## Resources
#
# - {cite:t}`ethayarajh2019contextual` on anisotropy in contextual models.
# - {cite:t}`wolfe2022contrastive`, the paper reproduced here.
