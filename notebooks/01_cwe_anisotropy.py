# %% [markdown]
# # Anisotropy of contextualized word embeddings
#
# ## Overview
#
# A contextualized word embedding (CWE) is the vector a language model assigns to one
# token in one sentence. {cite:t}`ethayarajh2019contextual` found that GPT-2's CWEs are
# *anisotropic*: they crowd into a narrow cone, so that two random words from unrelated
# sentences have a high cosine similarity, most of all in GPT-2's top layer. This chapter
# measures that crowding, layer by layer, for GPT-2 and for the text encoder of CLIP,
# which adapts GPT-2's architecture (12 blocks like GPT-2, but 512 wide rather than 768,
# with 8 heads rather than 12 and a context of 77 tokens rather than 1,024: the two
# models' configs; {cite:p}`radford2021learning`, section 2.4) and was trained
# contrastively against images.
#
# **Objectives.** After this chapter you can
#
# - explain what a {term}`contextualized word embedding <CWE>` is and what
#   {term}`anisotropy` means for a set of them;
# - compute a {term}`self-similarity` in $O(nd)$ and check it against the pairwise
#   definition;
# - read a {term}`bootstrap interval` around a per-layer value and a
#   {term}`paired difference` between two models.
#
# **Prerequisites.** Necessary: cosine similarity; what a transformer layer's hidden
# state is (about 30 minutes to learn). Helpful: the {doc}`../book/methods` page on
# the data and the token choices; the bootstrap.
#
# **Time.** Reading: about 15 minutes. Replayed (the default when you open it in
# Colab or Binder): seconds. Computed: minutes the first time, as the chapter's session
# prints before it starts (from the benchmark, for your cores; {doc}`/book/running` lists
# every chapter's), for the forward passes of both models over the sentences and the
# words (the intervals chapters 1-4 share are computed together, by whichever runs
# first) and one more pass per model that draws the other seeds of the token; seconds
# once the embeddings are cached. A GPU is faster.
#
# **Downloads.** The STS Benchmark test file (0.3 MB) and, with the real models, the
# GPT-2 and CLIP weights (about 0.5 GB and 0.6 GB), once. Stand-in builds fetch the
# tokenizers instead of the weights (a few MB).

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

session = notebook.start("01_cwe_anisotropy", replay=REPLAY)

# %% [markdown]
# ## The paper's claim
#
# {cite:t}`wolfe2022contrastive` report (abstract) that contrastive visual semantic
# pretraining "significantly mitigates" anisotropy: CLIP's CWEs have a self-similarity
# under {glue:text}`paper_clip_bound:.2f` in every layer, while GPT-2's reach
# {glue:text}`paper_gpt2_top:.3f` in its top layer (Figure 1's data; the abstract says
# "greater than .95"). The paper's per-layer values ({numref}`fig-cwe` draws them as
# crosses):

# %% tags=["hide-input"]
reported = {c.text: c for c in paper.reported("cwe_self_similarity")}
glue("paper_gpt2_top", reported["GPT-2 CWE self-similarity, layer 12"].value)
glue("paper_clip_bound", reported["CLIP CWE self-similarity is under .25 in all layers"].value)
paper.reported_table("cwe_self_similarity")

# %% [markdown]
# ## Method
#
# For each of the $n$ sentences we draw one token uniformly at random (seed 0) from the
# sentence's own tokens, never a special token (`random_token`, this book's default), and
# take its hidden state $x_i^{(\ell)}$
# in each layer $\ell = 0, \dots, 12$ (layer 0 is the embedding output). The
# **self-similarity** of layer $\ell$ is the mean cosine similarity over all distinct pairs:
#
# $$
# s^{(\ell)} = \frac{1}{n(n-1)} \sum_{i \ne j} \cos\left(x_i^{(\ell)}, x_j^{(\ell)}\right)
#            = \frac{\lVert \sum_i u_i \rVert^2 - n}{n(n-1)},
# \qquad u_i = \frac{x_i^{(\ell)}}{\lVert x_i^{(\ell)} \rVert}.
# $$
#
# The right-hand form needs only the sum of the unit vectors, so it costs $O(nd)$ instead
# of the $O(n^2 d)$ of a pairwise matrix (`cvsp.metrics.self_similarity`). A value near 1
# means every word points the same way; a value near 0 means directions are spread out.
#
# **Token choice.** GPT-2 reads the bare sentence; CLIP reads `[BOS] sentence [EOS]`
# ({term}`BOS`, {term}`EOS`).
# Sentences are the unique sentences of the STS Benchmark test set that fit CLIP's
# 77-token context, the same for both models. The paper does not say which positions the
# draw may take, so two other rules are measured beside the default:
# `random_token_no_first` leaves out input position 0 (for GPT-2 the first token, where
# the pretrained model's attention concentrates and its vector is nearly the same in
# every sentence; for CLIP position 0 is BOS, so this is the default draw again), and
# `random_token_released` is the rule of the authors' released code for CLIP (text tokens
# and EOS; on GPT-2's bare input it takes the same positions as `random_token_no_first`).
# {doc}`05_reproducing_the_reproduction` compares them.

# %% [markdown]
# ## Our run

# %%
scores = session.table(experiments.cwe_self_similarity, session.embedders, session.sentences)
scores = session.with_intervals(scores)  # 95 % bootstrap interval of every value
notebook.layer_table(scores)

# %% tags=["remove-cell"]
default = scores.query("variant == 'random_token'").set_index(["model", "layer"])
claims = session.claims().set_index("claim")
clip_bound = claims.loc[reported["CLIP CWE self-similarity is under .25 in all layers"].text]
glue("n_sentences", len(session.sentences.sentences))
glue("weights", session.weights_label())
glue("ours_gpt2_top", default.loc[("gpt2", "12"), "value"])
glue("ours_gpt2_top_ci", notebook.interval(*default.loc[("gpt2", "12"), ["ci_low", "ci_high"]]))
glue("ours_clip_max", default.loc["clip", "value"].max())
glue("ours_clip_max_ci", notebook.interval(clip_bound["ci_low"], clip_bound["ci_high"]))
glue("ours_gpt2_min", default.loc["gpt2", "value"].min())

# %% [markdown]
# The table holds the self-similarity of {glue:text}`n_sentences` CWEs per model, draw
# rule and layer, computed with {glue:text}`weights`. The paper's numbers are compared
# with the default rule, `random_token`.
#
# **Uncertainty.** Each value rests on one sample of sentences. Resampling the sentences
# with replacement 2,000 times by default (the same resamples for both models and every layer)
# gives a 95 % percentile interval for every value, drawn as a band in
# {numref}`fig-cwe`; {doc}`../book/methods` describes the bootstrap.

# %% [markdown]
# ## Figure

# %% mystnb={"figure": {"caption": "Self-similarity of contextualized word embeddings (one random token per STS sentence) in each layer of GPT-2 (red circles) and CLIP (blue triangles). Solid lines: the default draw over the sentence's own tokens; dashed: without input position 0 (for CLIP, whose position 0 is BOS, the same draw as solid); dotted: the released code's CLIP rule (text tokens and EOS; for GPT-2 the same positions as dashed). Crosses: the values the paper reports per layer; sparse dotted line: its bound for CLIP over all layers (under .25).", "name": "fig-cwe"}, "image": {"alt": "Line chart: mean cosine between random tokens of different sentences (vertical axis, 0 to 1) in each layer from 0 to 12 (horizontal axis). Three red GPT-2 lines with circles and three blue CLIP lines with triangles, one per way of drawing the token, black crosses at the paper's values and a dotted horizontal line at 0.25."}} tags=["hide-input"]
notebook.show(plots.figure(scores, "cwe_self_similarity", session.stand_in))

# %% [markdown]
# ## Comparison with the paper
#
# In this run GPT-2's top-layer self-similarity is {glue:text}`ours_gpt2_top:.3f`
# (95 % interval {glue:text}`ours_gpt2_top_ci`; paper: {glue:text}`paper_gpt2_top:.3f`),
# and CLIP's highest value over all layers is {glue:text}`ours_clip_max:.3f`
# ({glue:text}`ours_clip_max_ci`, the highest layer re-chosen in every resample; paper:
# under {glue:text}`paper_clip_bound:.2f`). Each number the paper reports, beside ours
# with its interval and the {term}`verdict` in words:

# %% tags=["hide-input"]
notebook.comparison_table(scores, "cwe_self_similarity", session.claims())

# %% [markdown]
# ### The two models, paired
#
# Because both models are resampled with the same sentences, the difference between
# them has its own, paired, interval ({numref}`fig-cwe-difference`). An interval that
# excludes zero says the two models differ beyond what the choice of sentences explains.

# %% mystnb={"figure": {"caption": "CLIP's CWE self-similarity minus GPT-2's in each layer (default draw), with its 95 % paired bootstrap band (by default 2,000 resamples of the sentences, the same for both models). Below zero: CLIP's embeddings are spread more widely.", "name": "fig-cwe-difference"}, "image": {"alt": "Line chart: CLIP's mean token cosine minus GPT-2's (vertical axis) in each layer from 0 to 12, one line inside a shaded band, with a grey horizontal line at zero."}} tags=["hide-input"]
notebook.show(
    plots.differences_figure(
        session.differences("cwe_self_similarity"), "cwe_self_similarity", session.stand_in
    )
)

# %% tags=["hide-input"]
notebook.differences_table(session.differences("cwe_self_similarity"), layers=("0", "6", "12"))

# %% [markdown]
# ### How much does the draw matter?
#
# The bootstrap resamples the sentences but keeps each sentence's drawn token. The
# draw is a second source of variation: we repeat it with {glue:text}`n_seeds` seeds (all seeds of
# a model share one forward pass) and report, per layer, the mean, the standard
# deviation and the range over seeds beside the width of the seed-0 bootstrap interval.

# %%
SEEDS = range(20)  # 0-19
by_seed = experiments.cwe_over_seeds(session.embedders, session.sentences, seeds=SEEDS)
glue("n_seeds", len(SEEDS))
spread = experiments.seed_spread(by_seed)

# %% tags=["remove-cell"]
widths = default["ci_high"] - default["ci_low"]
spread = spread.merge(widths.rename("bootstrap width").reset_index(), on=["model", "layer"])
by_model = spread.set_index(["model", "layer"])
glue("seed_range_gpt2_top", by_model.loc[("gpt2", "12"), "range"])
glue("seed_sd_gpt2_top", by_model.loc[("gpt2", "12"), "sd"])
glue("seed_range_max", spread["range"].max())
ratio = float((spread["range"] / spread["bootstrap width"]).max())
glue("seed_ratio_max", ratio)
glue(
    "seed_verdict",
    "so in this build the choice of sentences moves the value more than the "
    "choice of token within them"
    if ratio < 1
    else "so in this build the draw moves some layer "
    "as much as the choice of sentences does, and the seed deserves its own interval",
)
glue("seed_mean_gpt2_top", by_model.loc[("gpt2", "12"), "mean"])

# %% tags=["hide-input"]
table = spread.assign(model=spread["model"].map({"gpt2": "GPT-2", "clip": "CLIP"}))
table = table.pivot(
    index="layer", columns="model", values=["mean", "sd", "range", "bootstrap width"]
)
table.reindex(index=list(default.loc["gpt2"].index)).swaplevel(axis=1).sort_index(
    axis=1, level=0, sort_remaining=False
).round(4)

# %% [markdown]
# Over {glue:text}`n_seeds` seeds GPT-2's top layer averages {glue:text}`seed_mean_gpt2_top:.3f` with a
# standard deviation of {glue:text}`seed_sd_gpt2_top:.4f` (range
# {glue:text}`seed_range_gpt2_top:.4f`). The largest range over seeds in any layer of
# either model is {glue:text}`seed_range_max:.4f`, at most
# {glue:text}`seed_ratio_max:.2f` times the width of that layer's bootstrap interval,
# {glue:text}`seed_verdict`.

# %% [markdown]
# ## What differs and why
#
# - **The sentences.** The corpus is the unique sentences of the STS Benchmark test set;
#   the authors' released code gathers about 38,000 deduplicated SemEval STS sentences
#   and, for GPT-2, keeps 10,000 CWEs drawn from them (`word_gathering.py`, lines 21 and
#   47-51; the sentence files are not in its repository).
#   The random draw of one token per sentence uses seed 0. How much the corpus size, the
#   seed and the draw rule move the numbers is measured in
#   {doc}`05_reproducing_the_reproduction`.
# - **GPT-2's layer 12** is what `output_hidden_states` returns: the last block's output
#   *after* GPT-2's final layer norm. CLIP's layer 12 is *before* its final layer norm.
#   The authors' released code reads both models the same way (`output_hidden_states`;
#   `embedding_gathering.py`, line 99, `sentence_evaluations.py`, line 50).
# - **Stand-in builds.** When this page carries the stand-in warning, the weights are
#   random ({term}`stand-in model`): the numbers show only that the pipeline runs. With random weights, both
#   models give low self-similarity at layer 0 (random embeddings point every way) and a
#   value that rises with depth, most likely as the residual streams accumulate shared
#   components.

# %% [markdown]
# ## Exercises
#
# ```{exercise} Compute · easy · 10 min
# :label: ex-cwe-brute-force
# Check the $O(nd)$ formula: for GPT-2's layer 12, compute the mean cosine similarity
# over all distinct pairs with a full pairwise matrix on the first 500 CWEs and compare it
# with `cvsp.metrics.self_similarity`.
# ```
#
# ```{solution-start} ex-cwe-brute-force
# :class: dropdown
# ```

# %% tags=["raises-exception"]
import numpy as np

from cvsp import metrics

gpt2 = session.embedders["gpt2"]
x = gpt2(session.sentences.sentences, ["random_token"])["random_token"].layer(12)[:500]
u = x / np.linalg.norm(x, axis=1, keepdims=True)
cos = u @ u.T  # the full 500 x 500 matrix of cosines
brute = (cos.sum() - np.trace(cos)) / (len(u) * (len(u) - 1))
print(f"pairwise: {brute:.8f}   O(nd) formula: {metrics.self_similarity(x):.8f}")

# %% [markdown]
# The two agree up to float32 rounding of the matrix product.
#
# ```{solution-end}
# ```
#
# ```{exercise} Compute · hard · 30 min
# :label: ex-cwe-seed
# The seed table combines two sources of variation only side by side. Estimate both
# at once for GPT-2's top layer: for each of the first five seeds (0-4), bootstrap the
# sentences (use `cvsp.stats`) and pool the replicates. How much wider is the pooled
# interval than the seed-0 interval?
# ```
#
# ```{solution-start} ex-cwe-seed
# :class: dropdown
# ```

# %% tags=["raises-exception"]
import numpy as np

from cvsp import metrics, stats

gpt2 = session.embedders["gpt2"]
sentences = session.sentences.sentences
n = len(sentences)
# 500 resamples of the sentences, the same for every seed
counts = stats.resample_counts(stats.resample_indices(n, 500, seed=1), n)
replicates = {}
# the five draws in one forward pass (read again if the seed table above just drew them)
for seed, draw in gpt2.random_draws(sentences, "random_token", range(5)).items():
    units = metrics.unit(draw.layer(12))  # only the top layer is kept
    replicates[seed] = stats.weighted_self_similarity(units, counts)
seed0 = stats.percentile_interval(replicates[0])
pooled = stats.percentile_interval(np.concatenate(list(replicates.values())))
print(f"seed 0:          [{seed0[0]:.4f}, {seed0[1]:.4f}]")
print(f"5 seeds pooled:  [{pooled[0]:.4f}, {pooled[1]:.4f}]")
ratio = (pooled[1] - pooled[0]) / (seed0[1] - seed0[0])
print(f"the pooled interval is {ratio:.2f} times as wide")

# %% [markdown]
# A ratio near 1 says the seed adds little to the sentence sampling; compare it with
# the ratio of the seed range to the bootstrap width in the seed table above.
#
# ```{solution-end}
# ```
#
# ```{exercise} Explain · medium · 10 min
# :label: ex-cwe-layer0
# Layer 0 is the sum of a token embedding and a position embedding. Why can it already
# be anisotropic in a trained model, before any attention has mixed the words?
# ```
#
# ```{solution} ex-cwe-layer0
# :class: dropdown
# Training shapes the embedding matrices themselves. In GPT-2 the input embeddings are
# tied to the output layer (transformers' `tie_word_embeddings`, on by default and for GPT-2), so every next-token
# prediction pushes them, and the embeddings of rare words, seldom the right answer, can
# drift in a common direction; position embeddings add a component shared by every token
# at the same position. Both make vectors of unrelated words similar before any context is mixed in.
# ```

# %% [markdown]
# ## Summary
#
# - Self-similarity is the mean pairwise cosine of CWEs drawn one per sentence; high
#   values mean anisotropy.
# - The paper finds GPT-2's CWEs highly anisotropic in the top layer and CLIP's not in any
#   layer; this chapter recomputes both curves with the models named on this page.
#
# ## Resources
#
# - {cite:t}`ethayarajh2019contextual` measured anisotropy as the mean cosine similarity
#   of randomly drawn words, the quantity this chapter computes (the paper calls it
#   intra-layer self-similarity; Ethayarajh's own "self-similarity" compares one word
#   across its contexts).
# - {cite:t}`wolfe2022contrastive`, the paper reproduced here.
