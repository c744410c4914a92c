# %% [markdown]
# # The geometry behind the numbers
#
# ## Overview
#
# The paper shows *that* CLIP's text encoder is less anisotropic than GPT-2 and better
# on similarity tasks {cite:p}`wolfe2022contrastive`. This chapter asks *why*, with four
# tools from later work, applied per layer to both models: {term}`rogue dimensions <rogue dimension>`
# {cite:p}`timkey2021all`, post-processing that removes common directions
# {cite:p}`mu2018allbutthetop,su2021whitening`, {term}`alignment` and {term}`uniformity`
# {cite:p}`wang2020understanding`, and lexical overlap. None of it is in the paper; all
# of it reads the embeddings the earlier chapters cached, and only the word-shuffled
# sentences of the last section need new forward passes.
#
# **Objectives.** After this chapter you can
#
# - split a self-similarity into the contributions of single dimensions and spot a rogue
#   dimension;
# - fit a post-processing map on unlabelled texts, apply it to others, and check it with
#   a cross-fit;
# - place a layer in the alignment–uniformity plane;
# - separate what a similarity score owes to word overlap from what it owes to meaning.
#
# **Prerequisites.** Necessary: chapters {doc}`01_cwe_anisotropy` to
# {doc}`04_sentence_self_similarity` (about an hour). Helpful: principal component
# analysis; partial correlation.
#
# **Time.** Reading: about 25 minutes. Replayed (the default when you open it in
# Colab or Binder): seconds. Computed: minutes the first time, as the chapter's session
# prints before it starts (from the benchmark, for your cores; {doc}`/book/running` lists
# every chapter's), for the post-processing maps and the bootstrap of their STS
# scores, plus forward passes for 1,500 word-shuffled sentences per model. A GPU is faster.
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
import pandas as pd

from cvsp import experiments, notebook, plots
from cvsp.notebook import glue
from cvsp.stats import BootstrapSettings

session = notebook.start("06_geometry", replay=REPLAY)
glue("weights", session.weights_label())
glue("n_sentences", len(session.sentences.sentences))

# %% [markdown]
# All numbers on this page come from {glue:text}`weights`.
#
# ## Rogue dimensions
#
# **Claim** {cite:p}`timkey2021all`: in GPT-2 a handful of dimensions with very large
# values dominate cosine similarity, so the anisotropy of chapter
# {doc}`01_cwe_anisotropy` is mostly the work of a few coordinates.
#
# **Method.** With unit vectors $\hat u_n$ of $N$ texts, the self-similarity splits
# exactly into one term per dimension $i$:
#
# $$
# s = \sum_i C_i, \qquad C_i = \frac{\left(\sum_n \hat u_{ni}\right)^2 - \sum_n \hat
# u_{ni}^2}{N(N-1)} .
# $$
#
# We report the share of $s$ carried by the largest one and the largest three $C_i$, per
# layer, for the CWEs of chapter 1 and the EOS sentence vectors of chapter 4
# (`cvsp.geometry.rogue_shares`).

# %%
rogue = session.table(experiments.rogue_dimensions, session.embedders, session.sentences)

# %% tags=["remove-cell"]
top = rogue.set_index(["model", "variant", "layer"])
glue("rogue_gpt2_top3", top.loc[("gpt2", "random_token", "12"), "top3_share"])
glue("rogue_clip_top3", top.loc[("clip", "random_token", "12"), "top3_share"])
glue("rogue_gpt2_dims", ", ".join(map(str, top.loc[("gpt2", "random_token", "12"), "top3_dims"])))

# %% mystnb={"figure": {"caption": "Share of the CWE self-similarity carried by the single largest dimension (top1) and the three largest (top3), per layer. A share near 1 means a few coordinates make the embeddings look alike.", "name": "fig-rogue"}, "image": {"alt": "Line charts, one per model: the share of the token self-similarity carried by the largest one and three dimensions (vertical axis, 0 to 1) in each layer from 0 to 12, two lines per chart."}} tags=["hide-input"]
shares = rogue[rogue["variant"] == "random_token"].melt(
    id_vars=["model", "layer"],
    value_vars=["top1_share", "top3_share"],
    var_name="dimensions",
    value_name="share",
)
notebook.show(
    plots.layer_lines(
        shares,
        "share",
        "dimensions",
        "Rogue dimensions of the CWE self-similarity",
        "share of the self-similarity",
        session.stand_in,
    )
)

# %% [markdown]
# In the top layer the three largest dimensions of GPT-2 (numbers
# {glue:text}`rogue_gpt2_dims`) carry a share of {glue:text}`rogue_gpt2_top3:.2f` of its
# CWE self-similarity; CLIP's three largest carry {glue:text}`rogue_clip_top3:.2f`. A
# share above 1 is possible: the other dimensions then contribute negatively.

# %% tags=["hide-input"]
table = rogue.assign(model=rogue["model"].map({"gpt2": "GPT-2", "clip": "CLIP"}))
table.query("layer in ['0', '6', '12']").set_index(["model", "variant", "layer"]).round(3)

# %% [markdown]
# ## Post-processing: does GPT-2 close the gap?
#
# **Claim.** If GPT-2's weakness is geometry rather than missing meaning, removing the
# common directions should lift its STS and word scores towards CLIP's. Four maps, each
# fitted per layer on unlabelled texts and then applied:
#
# - *centring*: subtract the mean vector;
# - *z-scoring*: centre and divide each dimension by its standard deviation;
# - *all-but-the-top* {cite:p}`mu2018allbutthetop`: centre and remove the top $D$
#   principal components, $D \approx d/100$ (8 for GPT-2's 768 dimensions, 5 for CLIP's
# 512);
# - *{term}`whitening`* {cite:p}`su2021whitening`: $(x-\mu)\,U\Lambda^{-1/2}$ from the covariance
#   $U\Lambda U^\top$.
#
# Sentence vectors are transformed with maps fitted on all {glue:text}`n_sentences`
# unique STS sentences (no gold scores are used); word vectors with maps fitted on the
# CWEs of those sentences, since RG65 has fewer words than dimensions.

# %%
maps = {"maps": {}}  # each fitted map is kept here and reused by the calls below
post = session.table(
    experiments.postprocessed, session.embedders, session.words, session.sentences, unkeyed=maps
)
intervals = session.table(
    experiments.postprocessed_sts_intervals,
    session.embedders,
    session.sentences,
    BootstrapSettings(replicates=session.settings.bootstrap),
    unkeyed=maps,
)

# %% mystnb={"figure": {"caption": "STS Spearman's rho of the EOS token in each layer after each post-processing (fitted on the unlabelled STS sentences). 'none' is the curve of chapter 3.", "name": "fig-postprocessing"}, "image": {"alt": "Two line charts side by side, GPT-2 and CLIP: Spearman correlation with the STS scores (vertical axis) of the EOS token in each layer from 0 to 12, one line for each post-processing (none, centring, z-scoring, removing the top components, whitening)."}} tags=["hide-input"]
eos = post.query("result == 'sts' and variant == 'eos'")
notebook.show(
    plots.layer_lines(
        eos,
        "value",
        "transform",
        "STS after post-processing (EOS token)",
        "Spearman ρ",
        session.stand_in,
    )
)

# %% tags=["remove-cell"]
best = intervals.set_index(["model", "transform"])
glue("post_gpt2_none", best.loc[("gpt2", "none"), "value"])
glue("post_gpt2_white", best.loc[("gpt2", "whitening"), "value"])
glue(
    "post_gpt2_white_ci", notebook.interval(*best.loc[("gpt2", "whitening"), ["ci_low", "ci_high"]])
)
glue("post_clip_none", best.loc[("clip", "none"), "value"])
glue("post_clip_none_ci", notebook.interval(*best.loc[("clip", "none"), ["ci_low", "ci_high"]]))
gpt2_best = best.loc["gpt2", "value"]
glue("post_gpt2_best_transform", gpt2_best.idxmax())
glue("post_gpt2_best", gpt2_best.max())

# %% [markdown]
# GPT-2's EOS token at its best layer gives $\rho$ = {glue:text}`post_gpt2_none:.3f` as it
# is and {glue:text}`post_gpt2_white:.3f` after whitening (at its best layer after
# whitening; 95 % interval {glue:text}`post_gpt2_white_ci`, the best layer re-chosen in
# every resample); its best map is {glue:text}`post_gpt2_best_transform`
# ({glue:text}`post_gpt2_best:.3f`). CLIP's
# EOS token without any post-processing gives {glue:text}`post_clip_none:.3f`
# ({glue:text}`post_clip_none_ci`). For comparison with the literature: whitening lifts
# BERT-base on STS-B from about .59 to .68-.71 {cite:p}`su2021whitening`.

# %% tags=["hide-input"]
shown = intervals.assign(model=intervals["model"].map({"gpt2": "GPT-2", "clip": "CLIP"}))
shown["95 % interval"] = [
    notebook.interval(lo, hi) for lo, hi in zip(shown["ci_low"], shown["ci_high"])
]
shown.set_index(["model", "transform"])[["layer", "value", "95 % interval"]].round(3)

# %% [markdown]
# Post-processing changes the geometry it was meant to change: the self-similarity of
# the sentence vectors after each map, at three layers. Centred vectors sum to zero, so
# after any of the four maps the mean cosine is usually near zero; what differs between
# the maps is how far they move the STS scores above.

# %% tags=["hide-input"]
selfsim = post.query("result == 'sentence_self_similarity' and layer in ['0', '6', '12']")
selfsim.pivot_table(
    index=["model", "variant", "layer"], columns="transform", values="value", sort=False
).round(3)

# %% [markdown]
# The word tasks after each map, at the best layer and token choice of each model:

# %% tags=["hide-input"]
words = post.query("result == 'word_similarity'")
words.groupby(["task", "transform", "model"])["value"].max().unstack(["model"]).unstack(
    "transform"
).round(3)

# %% [markdown]
# **A check: cross-fitting.** A map fitted on the very sentences it transforms could
# flatter itself. Fitting on one half of the sentences and applying to the other (and
# back) gives, for the EOS tokens:

# %%
cross = session.table(
    experiments.postprocessed,
    session.embedders,
    session.words,
    session.sentences,
    cross_fit=True,
    unkeyed=maps,
)

# %% tags=["hide-input"]
both = post.query("result == 'sts'").merge(
    cross.query("result == 'sts'"),
    on=["model", "variant", "layer", "transform"],
    suffixes=("", "_cross"),
)
glue("cross_max", float((both["value"] - both["value_cross"]).abs().max()))
both.groupby(["model", "variant", "transform"])[["value", "value_cross"]].max().round(3)

# %% [markdown]
# The largest change from cross-fitting, over models, maps and layers, is
# {glue:text}`cross_max:.3f` (the best layers in the table move by no more than that). A
# map whose score falls when it is cross-fitted has learned the particular sentences it
# was fitted on; whitening estimates a full 768 × 768 (GPT-2) or 512 × 512 (CLIP) covariance from
# {glue:text}`n_sentences` sentences, the most parameters of the four.
#
# How many directions to remove? The sweep of all-but-the-top at the top layer, $D$ = 0
# (centring) to 20:

# %% mystnb={"figure": {"caption": "STS Spearman's rho of the EOS token at layer 12 after removing the top D principal components (D = 0 is centring). The dotted lines mark D = 8 (GPT-2) and D = 5 (CLIP).", "name": "fig-abtt-sweep"}, "image": {"alt": "Line chart: Spearman correlation with the STS scores (vertical axis) at layer 12 against the number of principal components removed (horizontal axis, from 0), a red GPT-2 line and a blue CLIP line, with dotted vertical lines at 8 and 5."}} tags=["hide-input"]
import matplotlib.pyplot as plt  # noqa: E402

sweep = session.table(experiments.abtt_sweep, session.embedders, session.sentences)
fig, ax = plt.subplots(figsize=(6.2, 3.6))
for model, rows in sweep.groupby("model", sort=False):
    style = plots.STYLE[model]
    ax.plot(
        rows["D"],
        rows["value"],
        color=style["color"],
        marker=style["marker"],
        markersize=4,
        label=style["label"],
    )
    ax.axvline(experiments.ABTT_D[model], color=style["color"], linestyle=":", linewidth=1)
ax.set_xlabel("D, principal components removed")
ax.set_ylabel("Spearman ρ")
ax.grid(alpha=0.3)
ax.legend(frameon=False)
ax.set_title(
    "All-but-the-top, layer 12" + (f"\n{plots.STAND_IN_NOTE}" if session.stand_in else ""),
    color="#b03a2e" if session.stand_in else "black",
    fontsize=10,
)
fig.tight_layout()
notebook.show(fig)

# %% [markdown]
# ## Alignment and uniformity
#
# **Claim** {cite:p}`wang2020understanding`: a good contrastive representation puts
# paraphrases close together (*alignment*, low is good) and spreads everything else
# evenly over the sphere (*uniformity*, low is good):
#
# $$
# \ell_\text{align} = \mathbb{E}_{(x, x^+)} \lVert f(x) - f(x^+) \rVert^2, \qquad
# \ell_\text{uniform} = \log \mathbb{E}_{x \ne y} e^{-2 \lVert f(x) - f(y) \rVert^2},
# $$
#
# on unit vectors $f$. Positive pairs are the STS pairs with gold above 4, SimCSE's
# convention {cite:p}`gao2021simcse`; uniformity is over all unique sentences, computed
# in blocks so that no $n \times n$ matrix is held.

# %%
plane = session.table(experiments.alignment_uniformity, session.embedders, session.sentences)
plane_at_least = session.table(
    experiments.alignment_uniformity,
    session.embedders,
    session.sentences,
    strict=False,
    uniform=False,  # alignment only
)

# %% tags=["remove-cell"]
at = plane.set_index(["model", "variant", "layer"])
glue("n_positive", int(plane["pairs"].iloc[0]))
glue("n_positive_at_least", int(plane_at_least["pairs"].iloc[0]))
glue("uniform_gpt2_top", at.loc[("gpt2", "eos", "12"), "uniformity"])
glue("uniform_clip_top", at.loc[("clip", "eos", "12"), "uniformity"])
glue("align_shift", float((plane["alignment"] - plane_at_least["alignment"]).abs().max()))

# %% mystnb={"figure": {"caption": "Each layer of each model and token choice in the alignment-uniformity plane (STS pairs with gold above 4 as positives). Markers grow from layer 0 to layer 12; lower-left is better on both.", "name": "fig-align-uniform"}, "image": {"alt": "Scatter plot: uniformity on the horizontal axis and alignment on the vertical axis, lower meaning better on both; each model and token choice is a chain of points, red for GPT-2 and blue for CLIP, whose markers grow from layer 0 to layer 12."}} tags=["hide-input"]
notebook.show(plots.alignment_uniformity_figure(plane, session.stand_in))

# %% [markdown]
# {glue:text}`n_positive` pairs have gold above 4 ({glue:text}`n_positive_at_least` with
# gold of at least 4; using those moves any alignment value by at most
# {glue:text}`align_shift:.3f`). At layer 12 the EOS token's uniformity is
# {glue:text}`uniform_gpt2_top:.2f` for GPT-2 and {glue:text}`uniform_clip_top:.2f` for
# CLIP; the lowest possible value for unit vectors in many dimensions is about −4.

# %% [markdown]
# ## Lexical overlap
#
# **Question.** STS pairs that share many words tend to get high gold scores. How much
# of each model's $\rho$ is just word overlap? We measure the Jaccard overlap of the two
# sentences' word sets, correlate it with gold, and give each model's partial Spearman
# correlation with gold controlling for overlap. A second test asks whether an encoder
# reads word order at all: the cosine between a sentence and a copy with its words
# shuffled (3 shuffles of 500 sentences, seeded) is 1 for a bag-of-words encoder.

# %%
overlap_rho, overlap = session.table(
    experiments.lexical_overlap, session.embedders, session.sentences
)
shuffles = session.table(
    experiments.shuffled_similarity,
    session.embedders,
    session.sentences,
    session.models["clip"].tokenizer,
)

# %% tags=["remove-cell"]
glue("overlap_rho", overlap_rho)
eos_overlap = overlap.query("variant == 'eos'").set_index(["model", "layer"])
glue("partial_clip_top", eos_overlap.loc[("clip", "12"), "partial"])
glue("rho_clip_top", eos_overlap.loc[("clip", "12"), "rho"])
glue("partial_gpt2_top", eos_overlap.loc[("gpt2", "12"), "partial"])
shuffled_eos = shuffles.query("variant == 'eos'").set_index(["model", "layer"])["value"]
glue("shuffle_clip_top", shuffled_eos[("clip", "12")])
glue("shuffle_gpt2_top", shuffled_eos[("gpt2", "12")])

# %% mystnb={"figure": {"caption": "Left of each pair of panels: Spearman's rho with STS gold (solid) and the partial rho controlling for word overlap (dashed), per layer, EOS token. The grey line is the overlap's own rho with gold.", "name": "fig-overlap"}, "image": {"alt": "Pairs of line charts, one pair per model: Spearman correlation with the STS scores (solid) and the partial correlation controlling for word overlap (dashed) of the EOS token in each layer from 0 to 12, with a grey horizontal line for the overlap's own correlation."}} tags=["hide-input"]
long = overlap.query("variant == 'eos'").melt(
    id_vars=["model", "layer"],
    value_vars=["rho", "partial"],
    var_name="measure",
    value_name="value",
)
notebook.show(
    plots.layer_lines(
        long,
        "value",
        "measure",
        "STS and word overlap (EOS token)",
        "Spearman ρ",
        session.stand_in,
        reference=overlap_rho,
    )
)

# %% [markdown]
# Word overlap alone reaches $\rho$ = {glue:text}`overlap_rho:.3f` with gold. At layer 12
# CLIP's EOS token has $\rho$ = {glue:text}`rho_clip_top:.3f`, and
# {glue:text}`partial_clip_top:.3f` once overlap is held fixed; GPT-2's partial value is
# {glue:text}`partial_gpt2_top:.3f`. A sentence and its shuffled copy have a cosine of
# {glue:text}`shuffle_clip_top:.3f` in CLIP's top EOS layer and
# {glue:text}`shuffle_gpt2_top:.3f` in GPT-2's.

# %% mystnb={"figure": {"caption": "Mean cosine between a sentence and its word-shuffled copies, per layer and token choice (1 would be a bag of words). Over the same sentences, the self-similarity of unrelated sentences is the baseline to compare with (chapter 4).", "name": "fig-shuffle"}, "image": {"alt": "Line charts, one per model: the mean cosine between a sentence and its word-shuffled copies (vertical axis, up to 1) in each layer from 0 to 12, one line per token choice."}} tags=["hide-input"]
notebook.show(
    plots.layer_lines(
        shuffles,
        "value",
        "variant",
        "Sentence vs. its word-shuffled copy",
        "mean cosine",
        session.stand_in,
        reference=1.0,
    )
)

# %% [markdown]
# ## What it says about the paper's result
#
# - Rogue dimensions and post-processing test whether GPT-2's low STS score is a
#   *geometric* artefact: if whitening brought GPT-2 to CLIP's level, the paper's
#   comparison would say more about anisotropy than about meaning.
# - Alignment and uniformity show where each layer stands on the two properties a
#   contrastive objective optimizes; CLIP's objective is contrastive (against images),
#   GPT-2's is not.
# - The partial correlations show how much of each score survives once word overlap is
#   fixed, and the shuffle test whether CLIP's text encoder reads word order.
#
# With stand-in models (see the warning at the top of the page) all numbers are
# stand-in numbers: they show that each measure runs, nothing about GPT-2 or CLIP.

# %% [markdown]
# ## Exercises
#
# ```{exercise} Predict, then compute · medium · 20 min
# :label: ex-geometry-rogue-remove
# Predict first: if GPT-2's three largest rogue dimensions at layer 12 are set to zero,
# which moves more, the CWE self-similarity or the STS score of the EOS token? Then zero
# them, recompute both and compare with your prediction.
# ```
#
# ```{solution-start} ex-geometry-rogue-remove
# :class: dropdown
# ```
#
# Each token choice has its own three largest dimensions (the `top3_dims` column of the
# table above); zero them in the layer-12 vectors:

# %% tags=["raises-exception"]
import numpy as np

from cvsp import metrics

index = {s: i for i, s in enumerate(session.sentences.sentences)}
left = [index[s] for s in session.sentences.pairs["sentence1"]]
right = [index[s] for s in session.sentences.pairs["sentence2"]]
gold = session.sentences.pairs["score"].to_numpy()
gpt2 = session.embedders["gpt2"](session.sentences.sentences, ["random_token", "eos"])
rows = []
for variant in ("random_token", "eos"):
    vectors = gpt2[variant].layer(12)
    dims = list(
        rogue.query(f"model == 'gpt2' and variant == '{variant}' and layer == '12'")[
            "top3_dims"
        ].iloc[0]
    )
    removed = vectors.copy()
    removed[:, dims] = 0
    for name, v in (("as embedded", vectors), (f"dimensions {dims} zeroed", removed)):
        sts = np.nan  # a CWE is no sentence vector: only the EOS token has an STS score
        if variant == "eos":
            sts = metrics.spearman(metrics.pair_cosines(v[left], v[right]), gold)
        rows.append((variant, name, metrics.self_similarity(v), sts))
columns = ["variant", "vectors", "self-similarity", "STS Spearman rho"]
pd.DataFrame(rows, columns=columns).set_index(["variant", "vectors"]).round(4)

# %% [markdown]
# (STS needs a sentence vector, so only the EOS token has a score.) With the pretrained
# GPT-2 one expects self-similarity to fall far more than the STS score moves, if rogue
# dimensions inflate similarity without carrying meaning {cite:p}`timkey2021all`; your
# table says whether this build agrees (with stand-ins it says nothing about GPT-2).
#
# ```{solution-end}
# ```
#
# ```{exercise} Compute · easy · 15 min
# :label: ex-geometry-threshold
# SimCSE's positives are pairs with gold above 4. Recompute alignment with pairs above
# 3 and above 4.5. Does the order of the models change?
# ```
#
# ```{solution-start} ex-geometry-threshold
# :class: dropdown
# ```
#
# Alignment only needs the positive pairs, so it is cheap to recompute (uniformity does
# not depend on the threshold); at layer 12, for every model and token choice:

# %% tags=["raises-exception"]
import pandas as pd

from cvsp import geometry

index = {s: i for i, s in enumerate(session.sentences.sentences)}
pairs = session.sentences.pairs
alignment = {}
for threshold in (3.0, 4.0, 4.5):
    close = pairs[pairs["score"] > threshold]
    left = [index[s] for s in close["sentence1"]]
    right = [index[s] for s in close["sentence2"]]
    positives = f"gold > {threshold} ({len(close)} pairs)"
    for model, embed in session.embedders.items():
        variants = experiments.GEOMETRY_VARIANTS[embed.family]
        for variant, emb in embed(session.sentences.sentences, variants).items():
            top_layer = emb.layer(12)
            value = geometry.alignment(top_layer[left], top_layer[right])
            alignment[(positives, model, variant)] = value
table = pd.Series(alignment).unstack(0)
table.round(3).join(table.rank().astype(int).add_prefix("rank, "))

# %% [markdown]
# Alignment usually grows as the threshold falls (less similar pairs tend to lie further
# apart); what matters is whether the ranks, lowest alignment first, stay the same at every
# threshold.
#
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - Self-similarity splits exactly into per-dimension terms; a few large terms are rogue
#   dimensions.
# - Post-processing maps are fitted on unlabelled texts and checked with a cross-fit;
#   they show how much of a model's score is geometry.
# - Alignment and uniformity place each layer on the two axes a contrastive objective
#   optimizes; overlap and shuffles show how much is words rather than meaning.
#
# ## Resources
#
# - {cite:t}`timkey2021all` on rogue dimensions; {cite:t}`mu2018allbutthetop` and
#   {cite:t}`su2021whitening` on post-processing; {cite:t}`wang2020understanding` on
#   alignment and uniformity; {cite:t}`gao2021simcse` for the positive-pair convention.
# - `cvsp.geometry` holds the measures as pure functions; `cvsp.experiments` applies them
#   to the cached embeddings.
