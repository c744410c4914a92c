"""The figures of tools/figures.py, file by file: each ledgered figure as a template over
the named values of tools/sources.py, each stated one with the reason it is no
measurement. Add a figure here when prose must carry it (where a page can glue it, glue
it instead)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ledgered:
    """Plain text in ``paths`` (a glob) that carries figures: ``template`` is the text with
    each figure a ``{name:format}`` field (a name of :data:`SOURCES`; ``!up`` after the
    format, ``{data_mb:.0f!up}``, rounds the value up, for "under" a figure) and ``…`` any
    text on the same line."""

    paths: str
    template: str


@dataclass(frozen=True)
class Stated:
    """Figures in ``paths`` matched by ``pattern`` that are not measurements: ``why``."""

    paths: str
    pattern: str
    why: str


LEDGER: list[Ledgered] = [
    # the weights, from the registry
    Ledgered("book/running.md", "GPT-2 (about {gpt2_gb:.1f} GB) and CLIP (about {clip_gb:.1f} GB)"),
    Ledgered("notebooks/01_*.py", "weights (about {gpt2_gb:.1f} GB and {clip_gb:.1f} GB)"),
    Ledgered(
        "notebooks/07_images_or_contrast.py",
        "three BERT-base checkpoints of about {bert_mb:.0f} MB each",
    ),
    Ledgered(
        "notebooks/08_beyond_one_clip.py",
        "LAION's CLIP B/32 ({clip_laion_mb:.0f} MB), CLIP L/14 ({clip_large_gb:.2f} GB), SigLIP "
        "base ({siglip_mb:.0f} MB) and GPT-2 medium ({gpt2_medium_gb:.2f} GB), about "
        "{beyond_gb:.1f} GB",
    ),
    Ledgered("CONTRIBUTING.md", "`model.safetensors` (about {clip_laion_mb:.0f} MB, published"),
    Ledgered("CONTRIBUTING.md", "| CLIP L/14 (chapter 8) |…(about {clip_large_gb:.2f} GB)"),
    Ledgered("CONTRIBUTING.md", "| SigLIP (chapter 8) |…(about {siglip_mb:.0f} MB)"),
    Ledgered("CONTRIBUTING.md", "| GPT-2 medium (chapter 8) |…(about {gpt2_medium_gb:.2f} GB)"),
    # the data, from its files and cvsp.data.FILES
    Ledgered("book/running.md", "the six evaluation files (under {data_mb:.0f!up} MB)"),
    Ledgered(".github/workflows/book.yml", "data files, under {data_mb:.0f!up} MB,"),
    Ledgered("notebooks/01_*.py", "The STS Benchmark test file ({sts_mb:.1f} MB)"),
    Ledgered("notebooks/02_*.py", "Five small word lists ({word_lists_mb:.1f} MB)"),
    Ledgered("notebooks/02_*.py", "resample of the {rg65_rows:.0f} pairs"),
    Ledgered(
        "notebooks/03_*.py",
        "cer2017semeval` has {stsb_rows:,.0f}",
    ),
    Ledgered("notebooks/07_images_or_contrast.py", "of {stsb_rows:,.0f}), so that all five models"),
    Ledgered("notebooks/07_images_or_contrast.py", "SimCSE scores all {stsb_rows:,.0f}"),
    Ledgered("book/glossary.md", "test set has {stsb_rows:,.0f} pairs"),
    Ledgered("book/glossary.md", "for each of {bellezza_rows:.0f} words"),
    Ledgered(
        "CONTRIBUTING.md",
        "RG65 ({rg65_rows:.0f} pairs), WordSim-353 ({wordsim353_rows:.0f}), SimLex-999 "
        "({simlex999_rows:.0f}), SimVerb-3500 ({simverb3500_rows:,.0f}), the Bellezza valence "
        "lexicon ({bellezza_rows:.0f} words",
    ),
    Ledgered("CONTRIBUTING.md", "the STS Benchmark test set ({stsb_rows:,.0f} pairs"),
    Ledgered("book/methods.md", "| WordSim-353 | {wordsim353_rows:.0f} pairs |"),
    Ledgered("book/methods.md", "| SimLex-999 | {simlex999_rows:.0f} pairs |"),
    Ledgered("book/methods.md", "| SimVerb-3500 | {simverb3500_rows:,.0f} verb pairs |"),
    Ledgered("book/methods.md", "| Bellezza lexicon | {bellezza_rows:.0f} words |"),
    Ledgered("book/methods.md", "| STS Benchmark test | {stsb_rows:,.0f} sentence pairs |"),
    Ledgered(
        "book/methods.md",
        "{spaced_cells:.0f} sentences of the file ({spaced_sentences:.0f} distinct) end in a space",
    ),
    Ledgered("book/methods.md", "tab-separated, all {stsb_rows:,.0f} pairs"),
    Ledgered(
        "book/methods.md",
        "keeps {released_pairs:,.0f} pairs, {released_corrupted:.0f} of them corrupted",
    ),
    Ledgered("book/methods.md", "the {sentences:,.0f} unique STS-B test sentences"),
    Ledgered(
        "book/running.md",
        "both models ({sentences:,.0f} sentences and {words:,.0f} words; GPT-2 reads each",
    ),
    # models' inputs and shapes, from the registry
    Ledgered("*", "CLIP's {clip_tokens:.0f} tokens"),
    Ledgered("notebooks/05_*.py", "over {clip_tokens:.0f} tokens"),
    Ledgered("book/methods.md", "over {clip_tokens:.0f} tokens"),
    Ledgered("book/methods.md", "under {clip_tokens:.0f} tokens"),
    Ledgered("notebooks/05_*.py", "have exactly {clip_tokens:.0f} tokens"),
    Ledgered("book/*.md", "at most {clip_tokens:.0f} tokens"),
    Ledgered(
        "notebooks/01_*.py", "a context of {clip_tokens:.0f} tokens rather than {gpt2_tokens:,.0f}"
    ),
    Ledgered("book/methods.md", "| 768 | {gpt2_tokens:,.0f} tokens |"),
    Ledgered("book/methods.md", "| 512 | {clip_tokens:.0f} tokens |"),
    Ledgered("book/methods.md", "layers 0 to 24, {gpt2_medium_width:,.0f} wide"),
    Ledgered("notebooks/08_*.py", "{siglip_tokens:.0f} positions"),
    Ledgered("book/methods.md", "{siglip_tokens:.0f} positions"),
    Ledgered("*", "{clip_tokens:.0f}-token"),
    Ledgered("CONTRIBUTING.md", "and tokenizers, {small_width:.0f} wide)"),
    Ledgered(".github/workflows/pr.yml", "Small stand-ins ({small_width:.0f} wide"),
    Ledgered("CONTRIBUTING.md", "CLIP L/14's {clip_large_width:.0f}-wide"),
    Ledgered("book/methods.md", "ViT-L/14, {clip_large_width:.0f} wide"),
    Ledgered(
        "notebooks/08_*.py",
        "512 → {clip_large_width:.0f} wide (8 → {clip_large_heads:.0f} heads)",
    ),
    Ledgered("book/glossary.md", "GPT-2 medium ({gpt2_medium_blocks:.0f} blocks)"),
    Ledgered("book/glossary.md", "GPT-2's layer 12 ({blocks:.0f} blocks)"),
    Ledgered("book/methods.md", "GPT-2 medium ({gpt2_medium_blocks:.0f} blocks"),
    Ledgered("notebooks/01_*.py", "({blocks:.0f} blocks like GPT-2"),
    Ledgered("notebooks/08_*.py", "the five models of {blocks:.0f} blocks"),
    Ledgered("notebooks/08_*.py", "the middle of its {gpt2_medium_blocks:.0f} blocks"),
    Ledgered("notebooks/08_*.py", "scale: {blocks:.0f} → {gpt2_medium_blocks:.0f} blocks"),
    Ledgered("notebooks/08_*.py", "fills {siglip_pieces:.0f} pieces"),
    Ledgered(
        "notebooks/08_*.py",
        "768 → {gpt2_medium_width:,.0f} wide (12 → {gpt2_medium_heads:.0f} heads)",
    ),
    Ledgered("CONTRIBUTING.md", "GPT-2 medium's 24 blocks and {gpt2_medium_width:,.0f}"),
    Ledgered("notebooks/04_*.py", "over the {hidden_layers:.0f} layers of one model"),
    # the book's own choices, from the code that makes them
    Ledgered(
        "CONTRIBUTING.md",
        "panels in one column {phone_px:.0f} px wide, the box a figure gets on a "
        "{phone_screen:.0f} px screen; no text under {phone_pt:.0f} pt, i.e. {phone_css:.1f} CSS px",
    ),
    Ledgered("CONTRIBUTING.md", "to screens of {phone_media:.0f} px or less"),
    Ledgered("CONTRIBUTING.md", "shown below {shown_percent:.0f} % of its natural width"),
    Ledgered("*", "{bootstrap:,.0f} times by default"),
    Ledgered("book/glossary.md", "{bootstrap:,.0f} resamples"),
    Ledgered("notebooks/*.py", "(by default {bootstrap:,.0f} resamples of the"),
    Ledgered("CONTRIBUTING.md", "(`cvsp.stats`): {bootstrap:,.0f} resamples"),
    Ledgered("CONTRIBUTING.md", "({bootstrap:,.0f} replicates, every series)"),
    Ledgered("notebooks/05_*.py", "seeded {subset_size:,.0f}-sentence subsets"),
    Ledgered("notebooks/05_*.py", "{smallest_subset:.0f} to {largest_subset:,.0f} sentences"),
    Ledgered("notebooks/06_geometry.py", "forward passes for {shuffled_texts:,.0f} word-shuffled"),
    Ledgered(
        "notebooks/06_geometry.py", "({shuffles:.0f} shuffles of {shuffle_sample:.0f} sentences"
    ),
    Ledgered(
        "CONTRIBUTING.md",
        "`cvsp.wordpiece`: {wordpiece_pieces:,.0f} pieces from the evaluation texts, padded with",
    ),
    Ledgered("CONTRIBUTING.md", "to BERT's {bert_ids:,.0f} ids"),
    Ledgered("CONTRIBUTING.md", "(at most {unigram_pieces:,.0f} pieces)"),
    Ledgered("CONTRIBUTING.md", "to SigLIP's {siglip_ids:,.0f} ids"),
    Ledgered("notebooks/08_*.py", "SentencePiece, {siglip_ids:,.0f} pieces"),
    Ledgered("CONTRIBUTING.md", "has less than about {slow_tests_gb:.0f} GB free"),
    # measured, from the benchmark's and the rehearsal's files
    Ledgered(
        "CONTRIBUTING.md", "into their own cache ({web_assets_mib:.0f} MiB in the benchmark's)"
    ),
    Ledgered(
        "CONTRIBUTING.md", "engine reaches on this machine ({engine_percent:.0f} % of the matmul"
    ),
    Ledgered(".github/workflows/book.yml", "the runner has about {runner_free_gb:.0f} GB free"),
    Ledgered(".github/workflows/pr.yml", "than the {runner_cache_gb:.0f} GB a repository may keep"),
]
STATED: list[Stated] = [
    Stated("*", r"95 %", "the intervals' level, a choice the methods page states"),
    Stated(
        "notebooks/*.py", r"· \d+ (?:min|hours?)\b", "an exercise's time: the author's estimate"
    ),
    Stated(
        "notebooks/*.py",
        r"Reading: about \d+ minutes|\(about \d+ minutes to learn\)|\(about \d+ minutes\)\. Helpful",
        "reading and learning times: the author's estimate",
    ),
    Stated(
        "book/teaching.md", r"\d+ min(?:utes)?\b", "a lesson plan's timings: the teacher's plan"
    ),
    Stated(
        "*",
        r"100 random files of 100 sentences(?: =|:) 10,000 CWEs|keeps 10,000 CWEs|With 10,000 CWEs",
        "the released code's choice (word_gathering.py: 47-51), cited where it is stated",
    ),
    Stated(
        "*",
        r"about 38,000 deduplicated|numbered up to 38,300",
        "the released code's file numbers (word_gathering.py: 21), cited where it is stated",
    ),
    Stated("notebooks/01_*.py", r"first 500 CWEs", "the exercise's choice of a sample to check"),
    Stated(
        "notebooks/06_geometry.py",
        r"GPT-2's 768 dimensions|768 × 768 \(GPT-2\) or 512 × 512",
        "the models' configs (GPT-2 n_embd 768, CLIP's text hidden_size 512), cited on the "
        "methods page",
    ),
    Stated(
        "*",
        r"512 wide rather than 768|8 heads rather than 12|LAION-2B, 512 wide|"
        r"SigLIP base's text tower \(768 wide",
        "the models' configs (GPT-2: n_embd 768, n_head 12; CLIP's and LAION's B/32 text "
        "towers: hidden_size 512, 8 heads; SigLIP base's: hidden_size 768), cited where stated",
    ),
    Stated("book/running.md", r"two 50-minute lesson plans", "the lesson plans' length"),
    Stated(
        "CONTRIBUTING.md",
        r"the theme's 14\.4 px small text",
        "the theme's stylesheet (0.9 rem); tests/test_site.py measures it in the browser",
    ),
    Stated("CONTRIBUTING.md", r"\(4 cores\)", "GitHub's documented standard Linux runner"),
    Stated(
        "ARCHITECTURE.md", r"at most 400 lines", "a rule of the house (tests/test_architecture.py)"
    ),
]
