"""Everything the book computes from embeddings, one module per job; the notebooks read
it all as ``experiments.X`` (modules are named for their job, functions for their
result: ``experiments.uncertainty`` is a function of :mod:`.bootstrap`).

| module | what it holds | who uses it |
| --- | --- | --- |
| :mod:`.inputs` | the STS pairs and sentences after CLIP's limit, the word tasks, rows of items | every module below, :mod:`cvsp.released` |
| :mod:`.tables` | the tidy table format (:data:`COLUMNS`, :func:`series_rows`, :func:`tidy_table`) | :mod:`.results`, :mod:`cvsp.released` |
| :mod:`.choices` | which token choices each result reads, per family | every module below it, the chapters |
| :mod:`.results` | the paper's four results (:func:`run_all`) | ``cvsp reproduce``, chapters 1-4 |
| :mod:`.robustness` | the CWE result over corpus subsets and seeds | chapter 5 (:mod:`cvsp.fidelity`) |
| :mod:`.bootstrap` | bootstrap replicates, intervals, paired differences, the claims' intervals (:func:`uncertainty`) | ``cvsp reproduce``, :mod:`.comparisons` |
| :mod:`.comparisons` | SimCSE − BERT beside CLIP − GPT-2 (:func:`contrasts`), the published anchors | ``cvsp reproduce``, chapter 7 |
| :mod:`.beyond` | the paper's claims restated per model, their verdicts, differences at equal relative depth (:func:`beyond_tables`) | ``cvsp reproduce``, chapter 8 |
| :mod:`.postprocessing` | centring, z-scoring, all-but-the-top, whitening | chapter 6 |
| :mod:`.diagnostics` | rogue dimensions, alignment and uniformity, overlap, word order | chapter 6 |
"""

from cvsp.experiments.beyond import (
    DEPTH_COLUMNS,
    VERDICT_COLUMNS,
    ModelDepth,
    beyond_tables,
    depth_differences,
    depths_of,
    matched_layers,
    restated_claims,
    verdicts,
    with_depth,
)
from cvsp.experiments.bootstrap import Replicates, replicates
from cvsp.experiments.choices import (
    CWE_FAMILY_VARIANTS,
    CWE_VARIANT,
    CWE_VARIANTS,
    GEOMETRY_VARIANTS,
    SENTENCE_CHOICES,
    SENTENCE_TOKEN,
    SENTENCE_VARIANTS,
    WORD_VARIANTS,
)
from cvsp.experiments.comparisons import (
    CONTRAST_COLUMNS,
    CONTRASTS,
    SAME_CHOICES,
    anchor_scores,
    contrasts,
)
from cvsp.experiments.diagnostics import (
    alignment_uniformity,
    lexical_overlap,
    rogue_dimensions,
    shuffled_similarity,
)
from cvsp.experiments.inputs import (
    CLIP_CONTEXT,
    SENTENCE_TASK,
    STS_TASK,
    VALNORM_TASK,
    SentenceData,
    WordData,
    load_word_data,
    positions_of,
    prepare_sentences,
    vectors_of,
)
from cvsp.experiments.paired import (
    COMPARED,
    claim_intervals,
    interval_table,
    paired_differences,
    uncertainty,
)
from cvsp.experiments.postprocessing import (
    ABTT_D,
    POSTPROCESSING,
    Postprocessed,
    abtt_sweep,
    postprocessed,
    postprocessed_sts_intervals,
)
from cvsp.experiments.results import (
    cwe_self_similarity,
    run_all,
    sentence_self_similarity,
    sts,
    word_similarity,
)
from cvsp.experiments.robustness import (
    CWE_CORPUS_REPEATS,
    CWE_CORPUS_SIZES,
    cwe_corpus_size,
    cwe_over_seeds,
    seed_spread,
)
from cvsp.experiments.tables import COLUMNS, RESULTS, per_layer, series_rows, tidy_table

__all__ = [
    "ABTT_D",
    "CLIP_CONTEXT",
    "COLUMNS",
    "DEPTH_COLUMNS",
    "VERDICT_COLUMNS",
    "ModelDepth",
    "beyond_tables",
    "depth_differences",
    "depths_of",
    "matched_layers",
    "restated_claims",
    "verdicts",
    "with_depth",
    "COMPARED",
    "CONTRASTS",
    "CONTRAST_COLUMNS",
    "CWE_CORPUS_REPEATS",
    "CWE_CORPUS_SIZES",
    "CWE_FAMILY_VARIANTS",
    "CWE_VARIANT",
    "CWE_VARIANTS",
    "GEOMETRY_VARIANTS",
    "POSTPROCESSING",
    "RESULTS",
    "SAME_CHOICES",
    "SENTENCE_CHOICES",
    "SENTENCE_TASK",
    "SENTENCE_TOKEN",
    "SENTENCE_VARIANTS",
    "STS_TASK",
    "VALNORM_TASK",
    "WORD_VARIANTS",
    "Postprocessed",
    "Replicates",
    "SentenceData",
    "WordData",
    "abtt_sweep",
    "alignment_uniformity",
    "anchor_scores",
    "claim_intervals",
    "contrasts",
    "cwe_corpus_size",
    "cwe_over_seeds",
    "cwe_self_similarity",
    "interval_table",
    "lexical_overlap",
    "load_word_data",
    "paired_differences",
    "per_layer",
    "positions_of",
    "postprocessed",
    "postprocessed_sts_intervals",
    "prepare_sentences",
    "replicates",
    "rogue_dimensions",
    "run_all",
    "seed_spread",
    "sentence_self_similarity",
    "series_rows",
    "shuffled_similarity",
    "sts",
    "tidy_table",
    "uncertainty",
    "vectors_of",
    "word_similarity",
]
