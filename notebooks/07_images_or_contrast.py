# %% [markdown]
# # Images or contrast?
#
# ## Overview
#
# The paper's title credits *contrastive visual semantic pretraining* for CLIP's better
# text representations {cite:p}`wolfe2022contrastive`. But GPT-2 → CLIP changes two
# things at once: the training objective (next-token prediction → a contrastive loss)
# and the data (text alone → text paired with images). SimCSE
# {cite:p}`gao2021simcse` changes only the first: it fine-tunes BERT with a contrastive
# loss on text alone, either with dropout noise as the only augmentation (unsupervised)
# or with entailment pairs from natural language inference data (supervised). If BERT
# → SimCSE moves the paper's measures as far as GPT-2 → CLIP, the contrast may be doing
# the work the images get credit for. This chapter measures both steps with the same
# code, data and statistics.
#
# **Objectives.** After this chapter you can
#
# - run the paper's four measures on any model of a supported family, here BERT and its
#   two SimCSE fine-tunes beside GPT-2 and CLIP;
# - read a paired difference with its bootstrap interval as the size of one training
#   step's effect, layer by layer;
# - set a model's published score beside ours and say which differences of protocol
#   could explain a gap;
# - say what a comparison of two *steps* can and cannot tell about *causes*.
#
# **Prerequisites.** Necessary: chapters {doc}`01_cwe_anisotropy` to
# {doc}`04_sentence_self_similarity` (about an hour) and the paired differences of
# chapter {doc}`03_sts`. Helpful: chapter {doc}`06_geometry` (alignment and
# uniformity); the idea of a contrastive loss.
#
# **Time.** Reading: about 20 minutes. Replayed (the default when you open it in
# Colab or Binder): seconds. Computed: minutes the first time, as the chapter's session
# prints before it starts (from the benchmark, for your cores; {doc}`/book/running` lists
# every chapter's), nearly all of it the forward passes of the three
# BERT-sized models over the words and sentences (once; later runs read the cache). A GPU
# is faster.
#
# **Downloads.** With real weights, three BERT-base checkpoints of about 440 MB each
# (SimCSE's from the hub's safetensors conversions of the authors' weights, pinned as
# {doc}`/book/running` lists). Stand-in builds download nothing more than chapter 1.

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

from cvsp import experiments, notebook, plots
from cvsp.notebook import glue
from cvsp.stats import BootstrapSettings

session = notebook.start("07_images_or_contrast", replay=REPLAY)
glue("weights", session.weights_label())
LABELS = {key: plots.style(key)["label"] for key in session.models}

# %% [markdown]
# All numbers on this page come from {glue:text}`weights`: these files, read at these
# commits (the SimCSE weights from the hub's safetensors conversion of the authors'
# checkpoints; see {doc}`/book/methods`).

# %% tags=["remove-input"]
session.models_table()

# %% [markdown]
# ## Two steps, two comparisons
#
# | step | objective | training data | what else changes |
# | --- | --- | --- | --- |
# | GPT-2 → CLIP | next token → contrastive, text against image | web text → 400 M image–caption pairs | a new model trained from scratch: architecture width (768 → 512), tokenizer, causal attention in both |
# | BERT → SimCSE unsup. | masked tokens and next-sentence prediction → contrastive, a sentence against itself under dropout | BookCorpus and English Wikipedia → 1 M English Wikipedia sentences | nothing else: fine-tuned from BERT's weights |
# | BERT → SimCSE sup. | masked tokens and next-sentence prediction → contrastive, premise against entailed hypothesis (contradictions as hard negatives) | → 275 k NLI triplets (SNLI and MNLI) | nothing else; read through its trained pooler |
#
# Sources: {cite:t}`radford2019language` and {cite:t}`radford2021learning` for GPT-2 and
# CLIP, the [BERT model card](https://huggingface.co/bert-base-uncased) for BERT's
# pretraining, {cite:t}`gao2021simcse` for SimCSE; widths from each model's config.
#
# The second and third rows keep the model and change the objective (with the text it is
# trained on, still text alone); the first changes objective, data and model together.
# So the question the numbers can answer is narrow: *does a contrastive objective on text
# alone move these measures as much as CLIP's training does?*
#
# BERT is an encoder: every token sees the whole sentence, and the `[CLS]` token at
# position 0 is trained to summarize it, where GPT-2 and CLIP read a sentence at their
# final {term}`EOS` token. For BERT-family models we read `cls` (position 0) and `mean` (the
# text's own tokens, without `[CLS]` and `[SEP]`), words at their {term}`last subtoken`, and
# {term}`CWE`s at one random own token, the same rules as for GPT-2 and CLIP
# (`cvsp.tokens.VARIANTS`).

# %%
scores = session.with_intervals(
    session.table(experiments.run_all, session.embedders, session.words, session.sentences)
)
intervals, contrasts = session.contrasts

# %% [markdown]
# ## Anisotropy and sentence similarity, layer by layer
#
# {numref}`fig-contrast-lines` shows the CWE self-similarity of all five models and their
# STS score, each with its 95 % bootstrap band: GPT-2 and CLIP with their EOS token,
# the BERT family with `[CLS]`.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left: CWE self-similarity (one random own token per sentence). Right: STS-B Spearman's rho of the sentence token (EOS for GPT-2 and CLIP, [CLS] for the BERT family; for supervised SimCSE also its pooler after layer 12). Bands: 95 % bootstrap intervals.", "name": "fig-contrast-lines"}, "image": {"alt": "Line charts side by side: the token self-similarity (left) and the STS Spearman correlation of the sentence token (right) in each layer from 0 to 12 for GPT-2, CLIP, BERT and the two SimCSE models, each line with a shaded band."}}
import matplotlib.pyplot as plt  # noqa: E402

sentence_token = {
    key: experiments.SENTENCE_TOKEN[session.models.spec(key).family] for key in session.models
}
fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
for ax, (result, task) in zip(axes, (("cwe_self_similarity", "sts_sentences"), ("sts", "stsb"))):
    wanted = scores[(scores["result"] == result) & (scores["task"] == task)]
    if result == "cwe_self_similarity":
        wanted = wanted[wanted["variant"] == experiments.CWE_VARIANT]
    else:
        wanted = wanted[
            [v == sentence_token[m] for m, v in zip(wanted["model"], wanted["variant"])]
        ]
    plots.draw_layers(ax, wanted.assign(layer=wanted["layer"].astype(str)), result, task)
    ax.set_title(plots.TITLES[result], fontsize=10)
    ax.set_ylabel(plots.Y_LABELS[result])
models = [
    plt.Line2D(
        [], [], color=plots.style(m)["color"], marker=plots.style(m)["marker"], label=LABELS[m]
    )
    for m in session.models
]
fig.legend(handles=models, loc="lower center", ncol=5, fontsize=8, frameon=False)
fig.suptitle(
    "Five models, two measures" + (f"\n{plots.STAND_IN_NOTE}" if session.stand_in else ""),
    color="#b03a2e" if session.stand_in else "black",
    fontsize=11,
)
fig.tight_layout(rect=(0, 0.12, 1, 1))
notebook.show(fig)

# %% [markdown]
# ## The two steps as paired differences
#
# Each line of {numref}`fig-contrast-steps` is one step: the contrastive model minus its
# base, layer by layer, on the same items, with the 95 % paired-bootstrap band (the same
# resamples reach both models, so the band is the uncertainty of the *difference*). A
# step that matters lies clear of zero. Like the paper, we compare GPT-2 and CLIP layer
# by layer although CLIP is not trained from GPT-2; SimCSE starts from BERT's weights,
# so its layers do correspond to BERT's.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Paired differences, contrastive model minus its base, with 95 % paired-bootstrap bands: CLIP \u2212 GPT-2 (EOS), unsupervised and supervised SimCSE \u2212 BERT ([CLS]). Below zero in the self-similarity panels: the step removes anisotropy; above zero in the STS and SimLex panels: the step improves the score.", "name": "fig-contrast-steps"}, "image": {"alt": "A grid of line charts, one per measure: the contrastive model minus its base (CLIP minus GPT-2, and each SimCSE model minus BERT) in each layer from 0 to 12, each line inside a shaded band, with a grey line at zero."}}
steps = {"clip": "eos", "simcse_unsup": "cls", "simcse_sup": "cls"}
panels = [
    ("cwe_self_similarity", "sts_sentences", {m: experiments.CWE_VARIANT for m in steps}),
    ("sentence_self_similarity", "sts_sentences", steps),
    ("sts", "stsb", steps),
    ("word_similarity", "simlex999", {m: "last_subtoken" for m in steps}),
]
notebook.show(plots.contrast_figure(contrasts, panels, session.stand_in))

# %% tags=["remove-cell"]
same_token = contrasts[contrasts["variant"] == contrasts["base_variant"]].astype({"layer": str})
by_step = same_token.set_index(["result", "task", "model", "variant", "layer"])
for model, token in steps.items():
    for name, (result, task, variant) in {
        "cwe": ("cwe_self_similarity", "sts_sentences", experiments.CWE_VARIANT),
        "sts": ("sts", "stsb", token),
    }.items():
        row = by_step.loc[(result, task, model, variant, "12")]
        glue(f"{name}_{model}", row["difference"])
        glue(f"{name}_{model}_ci", notebook.interval(row["ci_low"], row["ci_high"]))
    best = by_step.loc[("sts", "stsb", model, token, "best")]
    glue(f"sts_best_{model}", best["difference"])
    glue(f"sts_best_{model}_ci", notebook.interval(best["ci_low"], best["ci_high"]))

# %% [markdown]
# At layer 12 the CWE self-similarity changes by {glue:text}`cwe_clip:.3f`
# ({glue:text}`cwe_clip_ci`) from GPT-2 to CLIP, by {glue:text}`cwe_simcse_unsup:.3f`
# ({glue:text}`cwe_simcse_unsup_ci`) from BERT to unsupervised SimCSE and by
# {glue:text}`cwe_simcse_sup:.3f` ({glue:text}`cwe_simcse_sup_ci`) to supervised SimCSE.
# The STS score of the sentence token changes by {glue:text}`sts_clip:.3f`
# ({glue:text}`sts_clip_ci`), {glue:text}`sts_simcse_unsup:.3f`
# ({glue:text}`sts_simcse_unsup_ci`) and {glue:text}`sts_simcse_sup:.3f`
# ({glue:text}`sts_simcse_sup_ci`); comparing each model's best layer (re-chosen in every
# resample), by {glue:text}`sts_best_clip:.3f` ({glue:text}`sts_best_clip_ci`),
# {glue:text}`sts_best_simcse_unsup:.3f` ({glue:text}`sts_best_simcse_unsup_ci`) and
# {glue:text}`sts_best_simcse_sup:.3f` ({glue:text}`sts_best_simcse_sup_ci`).
#
# Every measure, at layer 12 and (for correlations) at the best layer: each step's paired
# difference with its 95 % interval. Both models of a step are read with the same token
# (the *sentence token* is EOS for GPT-2 and CLIP, `[CLS]` for the BERT family);
# `contrasts.csv` of `cvsp reproduce --model-set contrast` also holds Williams' t.

# %% tags=["hide-input"]
TOKENS = {
    "eos": "sentence token",
    "cls": "sentence token",
    "mean": "mean",
    "last_subtoken": "last subtoken",
    experiments.CWE_VARIANT: "random token",
}
MEASURES = {
    "cwe_self_similarity": "CWE self-similarity",
    "sentence_self_similarity": "sentence self-similarity",
    "sts": "STS",
    "word_similarity": "word tasks",
}
shown = same_token[same_token["layer"].isin(["12", "best"])].copy()
shown["step"] = [f"{LABELS[m]} − {LABELS[b]}" for m, b in zip(shown["model"], shown["base"])]
shown["cell"] = [
    f"{d:+.3f} {notebook.interval(lo, hi)}"
    for d, lo, hi in zip(shown["difference"], shown["ci_low"], shown["ci_high"])
]
shown = shown.assign(
    measure=shown["result"].map(MEASURES),
    task=shown["task"].map(plots.TASK_NAMES).fillna(shown["task"]),
    token=shown["variant"].map(TOKENS),
)
shown = shown.sort_values(
    "measure", key=lambda m: m.map(list(MEASURES.values()).index), kind="stable"
)
shown.pivot_table(
    index=["measure", "task", "token", "layer"],
    columns="step",
    values="cell",
    aggfunc="first",
    sort=False,
)

# %% [markdown]
# ## Published numbers beside ours
#
# SimCSE's authors report STS-B test scores (Spearman's $\rho$ × 100; below as fractions)
# for their models and for BERT {cite:p}`gao2021simcse`. Our readouts follow theirs: unsupervised SimCSE
# at `[CLS]` of the top layer without the pooler, supervised SimCSE through its
# pooler, BERT as the *first-last average*. Which first layer that average takes has
# varied between implementations, so we give both readings.

# %%
anchors = session.table(
    experiments.anchor_scores,
    session.embedders,
    session.sentences,
    BootstrapSettings(replicates=session.settings.bootstrap),
)

# %% tags=["hide-input"]
anchor_table = anchors.assign(model=anchors["model"].map(LABELS))
anchor_table["95 % interval"] = [
    notebook.interval(lo, hi) for lo, hi in zip(anchor_table["ci_low"], anchor_table["ci_high"])
]
anchor_table["inside"] = (anchor_table["ci_low"] <= anchor_table["published"]) & (
    anchor_table["published"] <= anchor_table["ci_high"]
)
anchor_table.set_index(["model", "readout"])[
    ["published", "ours", "95 % interval", "inside", "n"]
].round(3)

# %% [markdown]
# Our STS-B test set is that of the earlier chapters: the pairs whose sentences fit
# CLIP's 77 tokens ({glue:text}`n_pairs` of 1,379), so that all five models score the same
# items; SimCSE scores all 1,379. Their tokenizer is BERT's own (ours too, with real
# weights), and they average over all tokens including `[CLS]` and `[SEP]` where our
# `mean` takes the text's own tokens. With stand-in models a match would be chance: the rows only show
# that the readouts run.

# %% tags=["remove-cell"]
glue("n_pairs", len(session.sentences.pairs))

# %% [markdown]
# ## Geometry: alignment and uniformity
#
# SimCSE's own explanation of its gains is geometric {cite:p}`gao2021simcse`: the
# contrastive loss keeps positive pairs aligned while spreading all sentences more
# uniformly {cite:p}`wang2020understanding`. Chapter {doc}`06_geometry` measured the two
# properties for GPT-2 and CLIP; here the BERT family joins them (top layer of the
# sentence token).

# %%
plane = session.table(experiments.alignment_uniformity, session.embedders, session.sentences)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Alignment (STS pairs with gold above 4) against uniformity, each layer a point from layer 0 (small) to 12 (large), for the sentence token of each model (EOS, or [CLS] for the BERT family). Lower-left is better on both.", "name": "fig-contrast-plane"}, "image": {"alt": "Scatter plot: uniformity on the horizontal axis and alignment on the vertical axis, lower meaning better on both; each of the five models is a chain of points in its own colour, markers growing from layer 0 to layer 12."}}
tokens = plane[[v == sentence_token[m] for m, v in zip(plane["model"], plane["variant"])]]
notebook.show(plots.alignment_uniformity_figure(tokens, session.stand_in))

# %% [markdown]
# ## What the comparison can and cannot say
#
# - **It can** show whether a contrastive objective on text alone (SimCSE) moves the
#   paper's measures in the same direction, and by how much, as CLIP's training does:
#   if both steps remove anisotropy and lift STS, images are not *needed* for that
#   effect.
# - **It cannot** say what images add to CLIP, because no model here isolates the data:
#   that would take a text-only contrastive model trained like CLIP (same captions,
#   architecture, tokenizer and size), which is not public. CLIP's text tower is not
#   fine-tuned from GPT-2; the two differ in data, width (512 vs 768), tokenizer and
#   training budget, so "CLIP − GPT-2" is a difference between two models, not the effect
#   of one change.
# - **The sizes are not comparable one to one.** SimCSE starts from a bidirectional
#   encoder whose `[CLS]` token was trained (through next-sentence prediction) to
#   represent the whole input; GPT-2's EOS token never was. The same objective can
#   therefore move the two families by different amounts.
# - Supervised SimCSE uses human-labelled sentence pairs; a gain there mixes the
#   objective with supervision. The unsupervised model is the cleaner test.
#
# With stand-in models (see the warning at the top of the page) every number and figure
# above shows only that the measurements run; nothing about BERT, SimCSE or CLIP.

# %% [markdown]
# ## Exercises
#
# ```{exercise} Compute · medium · 15 min
# :label: ex-contrast-mean
# SimCSE's authors read unsupervised SimCSE at `[CLS]`. Does the step BERT → unsupervised
# SimCSE look different when both are read with the `mean` token? Compare the two STS
# differences at layer 12 and at the best layer.
# ```
#
# ```{solution-start} ex-contrast-mean
# :class: dropdown
# ```
#
# The `mean` token is among the compared choices, so the rows are already in the table
# of paired differences:

# %%
sts_steps = contrasts[(contrasts["result"] == "sts") & (contrasts["model"] == "simcse_unsup")]
sts_steps[sts_steps["layer"].astype(str).isin(["12", "best"])].set_index(["variant", "layer"])[
    ["difference", "ci_low", "ci_high"]
].round(3)

# %% [markdown]
# If the two intervals overlap widely, the step's effect on STS does not depend on the
# readout. SimCSE fine-tunes every weight of BERT, but {cite:t}`gao2021simcse` compute
# its loss on `[CLS]` (through an MLP during training): a readout the loss never sees,
# such as `mean`, shows how far the change reaches beyond it.
#
# ```{solution-end}
# ```
#
# ```{exercise} Interpret · medium · 15 min
# :label: ex-contrast-confounds
# "CLIP − GPT-2" and "unsupervised SimCSE − BERT" both change a model's objective to a
# contrastive one. Using the section above, list what else each step changes. Which step
# would you trust more to measure what a contrastive objective does to STS, and what can
# neither step tell you?
# ```
#
# ```{solution} ex-contrast-confounds
# :class: dropdown
# GPT-2 → CLIP is a step between two separately trained models: besides images and the
# contrastive loss, the training data (web pages against image captions and alt-texts),
# the width (768 against 512), the tokenizer (CLIP's lower-cases) and the training budget
# all differ. BERT → unsupervised SimCSE starts from BERT's own weights and changes the
# fine-tuning objective alone (dropout noise makes the positive pair, on sentences from
# English Wikipedia; {cite:t}`gao2021simcse`), with the architecture, tokenizer and width
# kept. The second step is the cleaner measure of the objective; neither tells what images
# add, which would need a text-only model trained like CLIP on the same captions.
# ```

# %% [markdown]
# ## Summary
#
# - GPT-2 → CLIP changes objective, data and model; BERT → SimCSE keeps the model and
#   changes the objective (and the text it is trained on). Measuring both steps with one
#   pipeline separates what a contrastive loss on text can do from what CLIP's training
#   did.
# - Paired differences with bootstrap bands give each step's effect per layer; SimCSE's
#   layers correspond to BERT's, CLIP's to GPT-2's only by position.
# - Published SimCSE scores sit beside ours, with the protocol differences that could
#   separate them.
#
# ## Resources
#
# - {cite:t}`gao2021simcse` for SimCSE, its readouts and its alignment–uniformity
#   analysis; {cite:t}`wang2020understanding` for the two measures.
# - `cvsp models` lists the registry; `cvsp reproduce --model-set contrast` writes this
#   chapter's numbers, with the paired differences in `contrasts.csv`; `--add-model
#   bert:roberta-base@<commit>` adds any BERT-like encoder.
