"""Which token choices each result reads, per model family (see :mod:`cvsp.tokens`).

Used by the results, their intervals and the chapters' tables.
"""

from __future__ import annotations

# Token choices of each result, by model family.
WORD_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_subtoken", "eos"),
    "clip": ("last_subtoken", "eos"),
    "bert": ("last_subtoken", "cls"),
    "siglip": ("last_subtoken", "eos"),
}
SENTENCE_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_token", "eos", "mean", "mean_no_first"),
    "clip": ("eos", "mean"),
    "bert": ("cls", "mean"),
    "siglip": ("eos", "mean"),
}
CWE_VARIANT = "random_token"  # the default draw: one of the sentence's own tokens
CWE_VARIANTS: tuple[str, ...] = (CWE_VARIANT, "random_token_no_first", "random_token_released")
CWE_FAMILY_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": CWE_VARIANTS,
    "clip": CWE_VARIANTS,
    "bert": (
        CWE_VARIANT,
    ),  # the released code's rule exists for CLIP only; the default suffices here
    "siglip": (CWE_VARIANT,),
}
# every choice the results read of the sentences: asked together, one forward pass per input form
SENTENCE_CHOICES: dict[str, tuple[str, ...]] = {
    family: tuple(dict.fromkeys([*SENTENCE_VARIANTS[family], *CWE_FAMILY_VARIANTS[family]]))
    for family in SENTENCE_VARIANTS
}
GEOMETRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_token", "eos", "mean"),
    "clip": ("eos", "mean"),
    "bert": ("cls", "mean"),
    "siglip": ("eos", "mean"),
}
# the token that stands for a sentence (SigLIP's "eos" is the last of its 64 positions, the one it pools)
SENTENCE_TOKEN: dict[str, str] = {"gpt2": "eos", "clip": "eos", "bert": "cls", "siglip": "eos"}
