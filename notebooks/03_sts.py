# %% [markdown]
# # Sentence semantics: the STS Benchmark
#
# ## Overview
#
# A sentence embedding is useful when sentences that mean nearly the same get nearly the
# same vector. The test set of the STS Benchmark {cite:p}`cer2017semeval` has 1,379
# sentence pairs whose similarity people rated from 0 to 5. This chapter asks, layer by
# layer, how well the cosine similarity of GPT-2's and CLIP's sentence vectors ranks
# those pairs, without any fine-tuning.
#
# **Objectives.** After this chapter you can
#
# - score sentence vectors on the {term}`STS` Benchmark layer by layer;
# - explain why the {term}`EOS` token is CLIP's sentence vector and GPT-2's {term}`last token`
#   is not trained to be a summary;
# - state the paper's STS claims with our intervals and a paired comparison.
#
# **Prerequisites.** Necessary: {doc}`../book/methods` (token choices);
# {term}`Spearman's ρ` (about 15 minutes). Helpful: {doc}`02_word_similarity`.
#
# **Time.** Reading: about 15 minutes. Replayed (the default when you open it in
# Colab or Binder): seconds. Computed: minutes the first time, as the chapter's session
# prints before it starts (from the benchmark, for your cores; {doc}`/book/running` lists
# every chapter's), for the sentences and the words (the intervals chapters 1-4 share
# are computed together); seconds once any of chapters 1, 2 or 4 has run. A GPU is
# faster.
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

session = notebook.start("03_sts", replay=REPLAY)

# %% [markdown]
# ## The paper's claim
#
# {cite:t}`wolfe2022contrastive` report (abstract) that CLIP reaches Spearman's
# $\rho$ = {glue:text}`paper_clip:.2f` on the STS Benchmark with no fine-tuning (the
# authors' released code scores its test set, `sentence_evaluations.py`, line 79), while
# GPT-2 is no higher than {glue:text}`paper_gpt2:.2f` in any layer. The abstract names
# neither a layer nor a token for these numbers. Our choice: CLIP's number is compared
# with the best layer of its EOS token (the token whose vector, after the final layer
# norm and projection, CLIP's training aligns with images), GPT-2's bound with every
# layer of its last token and its EOS token.

# %% tags=["hide-input"]
claims = {c.model: c for c in paper.reported("sts")}
glue("paper_clip", claims["clip"].value)
glue("paper_gpt2", claims["gpt2"].value)
paper.reported_table("sts")

# %% [markdown]
# ## Method
#
# For each pair $(s_1, s_2)$ with gold score $g$ we embed both sentences and compute
# $\cos(v(s_1), v(s_2))$ in each layer; the layer's score is Spearman's $\rho$ between
# these cosines and the gold scores over all pairs. The sentence vector $v$ is:
#
# - CLIP `eos`: the EOS token of `[BOS] sentence [EOS]`, the token CLIP's training aligns
#   with images; also after the final layer norm (`final_ln`) and projection (`projection`);
# - GPT-2 `last_token`: the last token of the bare sentence;
# - GPT-2 `eos`: the final token of `<|endoftext|>sentence<|endoftext|>`;
# - `mean` (both models, added here for comparison): the mean over the sentence's own
#   tokens;
# - GPT-2 `mean_no_first` (added here): the same mean without input position 0, GPT-2's
#   first token (for CLIP, whose position 0 is BOS, it would equal `mean`).
#
# Each distinct sentence is embedded once and looked up for every pair it occurs in.

# %% [markdown]
# ## Our run

# %%
scores = session.table(experiments.sts, session.embedders, session.sentences)
scores = session.with_intervals(scores)  # 95 % bootstrap interval of every value
notebook.layer_table(scores)

# %% tags=["remove-cell"]
clip_eos = scores.query("model == 'clip' and variant == 'eos'").set_index("layer")["value"]
hidden = [str(layer) for layer in range(13)]
gpt2_paper = scores.query("model == 'gpt2' and variant in ['last_token', 'eos']")
glue("weights", session.weights_label())
glue("n_pairs", len(session.sentences.pairs))
glue("excluded_pairs", session.sentences.excluded_pairs)
glue("ours_clip_best", clip_eos[hidden].max())
glue("ours_clip_best_layer", clip_eos[hidden].idxmax())
glue("ours_clip_projection", clip_eos["projection"])
glue("ours_gpt2_best", gpt2_paper["value"].max())
claims = {c.model: c for c in paper.reported("sts") if c.statistic == "max"}
glue("ours_clip_best_ci", session.claim_interval(claims["clip"]))
glue("ours_gpt2_best_ci", session.claim_interval(claims["gpt2"]))
differences = session.differences("sts")
paired = differences.query(
    "layer == 'best' and clip_variant == 'eos' and gpt2_variant == 'last_token'"
).iloc[0]
glue("best_difference", paired["difference"])
glue("best_difference_ci", notebook.interval(paired["ci_low"], paired["ci_high"]))

# %% [markdown]
# {glue:text}`n_pairs` pairs were scored ({glue:text}`excluded_pairs` left out by CLIP's
# 77-token limit), with {glue:text}`weights`.

# %% [markdown]
# ## Figure

# %% mystnb={"figure": {"caption": "Spearman's rho between sentence-pair cosines and STS Benchmark gold scores in each layer. GPT-2 red circles, CLIP blue triangles; solid lines the EOS token, dashed the last token, dotted mean pooling, dash-dotted GPT-2's mean without its first position; diamonds CLIP's final layer norm and projection; sparse dotted lines: the paper's numbers (CLIP .73, GPT-2 at most .45).", "name": "fig-sts"}, "image": {"alt": "Line chart: Spearman correlation with the STS Benchmark's human scores (vertical axis) in each layer from 0 to 12. Red GPT-2 lines with circles and blue CLIP lines with triangles, one per token choice (solid, dashed, dotted, dash-dotted), blue diamonds at the right for CLIP's last two steps, and dotted horizontal lines at the paper's 0.73 for CLIP and 0.45 for GPT-2."}} tags=["hide-input"]
notebook.show(plots.figure(scores, "sts", session.stand_in))

# %% [markdown]
# ## Comparison with the paper
#
# CLIP's EOS token reaches $\rho$ = {glue:text}`ours_clip_best:.3f` at its best layer
# ({glue:text}`ours_clip_best_layer`; 95 % interval {glue:text}`ours_clip_best_ci`, the
# best layer re-chosen in every resample of the pairs; paper: {glue:text}`paper_clip:.2f`)
# and {glue:text}`ours_clip_projection:.3f` after the projection. GPT-2's best layer
# with our two token choices (last token, EOS) gives {glue:text}`ours_gpt2_best:.3f`
# ({glue:text}`ours_gpt2_best_ci`; paper: at most {glue:text}`paper_gpt2:.2f`).

# %% tags=["hide-input"]
notebook.comparison_table(scores, "sts", session.claims())

# %% [markdown]
# ### CLIP against GPT-2, paired
#
# Both models score the same pairs, so their difference is estimated on the same
# resamples ({numref}`fig-sts-difference`). CLIP's best EOS layer minus GPT-2's best
# last-token layer is {glue:text}`best_difference:.3f` (95 % paired interval
# {glue:text}`best_difference_ci`). The table adds {term}`Williams' t`
# {cite:p}`steiger1980tests` for the top layer, a closed-form test of two correlations
# that share the gold scores.

# %% mystnb={"figure": {"caption": "CLIP minus GPT-2 Spearman's rho in each layer for three pairings of token choices, with 95 % paired bootstrap bands (by default 2,000 resamples of the sentence pairs, the same for both models). Diamonds at the right: the difference of the two best layers, re-chosen in every resample.", "name": "fig-sts-difference"}, "image": {"alt": "Line chart: CLIP's Spearman correlation minus GPT-2's (vertical axis) in each layer from 0 to 12, three lines, one per pairing of token choices, each inside a shaded band, with a grey line at zero and at the right a marker with an error bar per pairing for the difference of the best layers."}} tags=["hide-input"]
notebook.show(plots.differences_figure(differences, "sts", session.stand_in))

# %% tags=["hide-input"]
notebook.differences_table(differences)

# %% [markdown]
# ## What differs and why
#
# - **Which layer.** The abstract gives CLIP's .73 without a layer; we compare with CLIP's
#   best of layers 0-12 and show the final layer norm and projection separately.
# - **Mean pooling** is not in the paper; it is a common baseline and shows how GPT-2's
#   score changes when it is read from all its tokens rather than one.
# - **Layer 0 of an EOS token** depends only on the sentence's length in tokens, so its
#   "similarity" is a function of the two sentences' lengths alone (1 for equal lengths).
# - **Stand-in builds** have random weights; their correlations reflect word overlap and
#   length that survive random mixing, not meaning.

# %% [markdown]
# ## Exercises
#
# ```{exercise} Predict, then compute · medium · 20 min
# :label: ex-sts-genre
# The STS Benchmark mixes captions, news and forum posts. Before computing, write down
# your prediction: is CLIP, trained on image captions, better on the caption pairs, and
# by how much? Then compute CLIP's layer-12 EOS score per genre and compare.
# ```
#
# ```{solution-start} ex-sts-genre
# :class: dropdown
# ```
#
# The genre is the first column of `sts-test.csv`, which `cvsp.data.parse_sts` drops;
# read it alongside, keep the pairs that pass CLIP's 77-token limit, and score each
# genre's pairs with the layer-12 EOS vectors the chapter already embedded:

# %% tags=["raises-exception"]
import pandas as pd

from cvsp import data, metrics

text = data.fetch("stsb", session.settings).read_text(encoding="utf-8")
lines = [line for line in text.splitlines() if line.strip()]  # as parse_sts reads them
genres = [line.split("\t")[0] for line in lines]
pairs = data.load_sts(session.settings).assign(genre=genres)
index = {s: i for i, s in enumerate(session.sentences.sentences)}
pairs = pairs[pairs.sentence1.isin(index) & pairs.sentence2.isin(index)]  # 77 tokens
eos = session.embedders["clip"](session.sentences.sentences, ["eos"])["eos"].layer(12)
rows = []
for name, group in pairs.groupby("genre"):
    left = eos[[index[s] for s in group.sentence1]]
    right = eos[[index[s] for s in group.sentence2]]
    rho = metrics.spearman(metrics.pair_cosines(left, right), group.score.to_numpy())
    rows.append((name, len(group), rho))
pd.DataFrame(rows, columns=["genre", "pairs", "Spearman rho"]).round(3)

# %% [markdown]
# With the pretrained CLIP, a higher score on `main-captions` than on the news and forum
# genres would fit its training on image captions.
#
# ```{solution-end}
# ```
#
# ```{exercise} Explain · medium · 10 min
# :label: ex-sts-why-eos
# Why would GPT-2's last token be a poor sentence vector, even though, with causal
# attention, it is the only token that has seen the whole sentence?
# ```
#
# ```{solution} ex-sts-why-eos
# :class: dropdown
# GPT-2 is trained to predict the *next* token, so its last hidden state is shaped to
# encode what could come next, which depends heavily on the last words, rather than to
# summarize the sentence. Its top layer is also highly anisotropic in the paper's
# measurement ({doc}`01_cwe_anisotropy`), so all cosines are high and differences
# between pairs are small. CLIP's training compares the EOS token's vector (after the
# final layer norm and projection) with the image's, so that vector must carry what the
# whole caption says.
# ```

# %% [markdown]
# ## Summary
#
# - STS is scored by Spearman's $\rho$ between sentence-pair cosines and human ratings.
# - CLIP's EOS token is the sentence vector its training shapes; GPT-2 has no such token.
# - The paper's abstract finds CLIP at .73 and GPT-2 at most .45 in any layer.
#
# ## Resources
#
# - {cite:t}`cer2017semeval` describe the benchmark.
# - {cite:t}`radford2021learning` describe CLIP's contrastive training.
