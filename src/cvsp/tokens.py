"""Token choices: how a text becomes model input, and which positions stand for it.

Token choices (``variant``):

| variant | GPT-2 input -> position | CLIP input -> position | BERT-like input -> position | SigLIP input -> position |
| --- | --- | --- | --- | --- |
| ``last_subtoken`` / ``last_token`` | ``text`` -> last token | ``[BOS] text [EOS]`` -> token before EOS | ``[CLS] text [SEP]`` -> token before SEP | ``text </s> pad…`` -> token before ``</s>`` |
| ``eos`` | ``<|endoftext|> text <|endoftext|>`` -> final EOS | ``[BOS] text [EOS]`` -> EOS | — | ``text </s> pad…`` (64 tokens) -> position 63, the one SigLIP pools |
| ``cls`` | — | — | ``[CLS] text [SEP]`` -> ``[CLS]`` (``<s>`` for RoBERTa) | — |
| ``mean`` | ``text`` -> mean of its tokens | ``[BOS] text [EOS]`` -> mean of the text's tokens | ``[CLS] text [SEP]`` -> mean of the text's tokens | mean of the text's tokens |
| ``mean_no_first`` | ``text`` -> mean of its tokens but position 0 | (the same as ``mean``) | — | — |
| ``random_token`` | ``text`` -> one of its tokens, drawn (seeded) | ``[BOS] text [EOS]`` -> one text token | ``[CLS] text [SEP]`` -> one text token | one text token |
| ``random_token_no_first`` | ``text`` -> one of its tokens but position 0 | (the same rule) | — | — |
| ``random_token_released`` | positions 1 .. n-1 of the input (n tokens) | ``[BOS] text [EOS]`` -> a text token or EOS | — | — |

SigLIP's input is the one it was trained on: its tokenizer's pieces (it lower-cases and
drops punctuation itself), ``</s>``, then ``</s>`` as padding up to all 64 positions,
with no attention mask; its text embedding is read at the last position, a padding
position that attends to the whole text (bidirectional attention). A text longer than
63 pieces is cut there, as SigLIP's processor cuts it (:func:`encode` counts them in
:attr:`Encoded.cut`).

The random rules are in :data:`RANDOM_RULES`; ``random_token`` (the text's own tokens)
is the default of the CWE result, our choice: the paper's text does not say which
positions are drawn, and this rule is the same for both models, gives every token of
the sentence the same chance and never draws a special token (``book/methods.md``).
Where a rule leaves a one-token text no position, the text's only token is used.
Positions come from each text's own token span, never from searching for a token id
(CLIP pads with its EOS id).

Pure Python and numpy over a tokenizer (no torch): :func:`encode` builds each text's
input, :func:`allowed_positions` and :func:`random_positions` the positions a token
choice reads, :func:`fits_clip` CLIP's context limit, :func:`batches` the padded
batches. Used by :mod:`cvsp.embeddings` (the forward passes), the inputs of
:mod:`cvsp.experiments` and :mod:`cvsp.released`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cvsp.registry import CLIP_EXTRA_LAYERS, POOLER_LAYER, hidden_layers

if TYPE_CHECKING:  # for the annotation only: models imports torch
    from cvsp.models import LoadedModel

# variant -> (input form, selector); the form decides the forward pass.
VARIANTS: dict[str, dict[str, tuple[str, str]]] = {
    "gpt2": {
        "last_subtoken": ("bare", "last"),
        "last_token": ("bare", "last"),
        "mean": ("bare", "mean"),
        "mean_no_first": ("bare", "mean_no_first"),
        "random_token": ("bare", "random"),
        "random_token_no_first": ("bare", "random_no_first"),
        "random_token_released": ("bare", "random_released"),
        "eos": ("eos_wrapped", "eos"),
    },
    "clip": {
        "last_subtoken": ("clip", "last"),
        "last_token": ("clip", "last"),
        "mean": ("clip", "mean"),
        "random_token": ("clip", "random"),
        "random_token_no_first": ("clip", "random_no_first"),
        "random_token_released": ("clip", "random_released"),
        "eos": ("clip", "eos"),
    },
    "bert": {
        "last_subtoken": ("encoder", "last"),
        "last_token": ("encoder", "last"),
        "cls": ("encoder", "cls"),
        "mean": ("encoder", "mean"),
        "random_token": ("encoder", "random"),
    },
    "siglip": {
        "last_subtoken": ("siglip", "last"),
        "last_token": ("siglip", "last"),
        "mean": ("siglip", "mean"),
        "random_token": ("siglip", "random"),
        "eos": ("siglip", "eos"),
    },
}
EXTRA_AFTER_EOS: frozenset[str] = frozenset(
    {"clip", "siglip"}
)  # families whose EOS adds final_ln, projection

# Which input positions a random draw may land on (selector -> rule), see :func:`allowed_positions`.
RANDOM_RULES: dict[str, str] = {
    "random": "own tokens of the text",
    "random_no_first": "own tokens of the text except input position 0 (GPT-2's first token)",
    "random_released": "input positions 1 .. n-1 (for CLIP the released code's rule: text tokens and EOS)",
}


class EmbeddingError(ValueError):
    """A text cannot be embedded as asked."""


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text as fed to the model, and the span of the text's own tokens."""

    ids: tuple[int, ...]
    start: int  # first token of the text itself
    stop: int  # one past its last token
    cut: int = 0  # pieces of the text left out to fit a fixed-length input (SigLIP)


def layers_for(
    family: str, variant: str, pooler: bool = False, blocks: int = 12
) -> tuple[str, ...]:
    """Layer labels of a variant of a model with ``blocks`` blocks: ``0``..``blocks``, plus
    the two extra points of a CLIP-like ``eos`` (final layer norm, projection) and an
    encoder's pooler output for ``cls`` where its spec reads it."""
    hidden = hidden_layers(blocks)
    if family in EXTRA_AFTER_EOS and variant == "eos":
        return hidden + CLIP_EXTRA_LAYERS
    if family == "bert" and variant == "cls" and pooler:
        return hidden + (POOLER_LAYER,)
    return hidden


def _content_ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def check_texts(texts: Sequence[str]) -> None:
    """Refuse what cannot be embedded: no texts, non-strings, empty or blank strings."""
    if len(texts) == 0:
        raise EmbeddingError("No texts to embed.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise EmbeddingError(f"Text {index} is {type(text).__name__}, not a string.")
        if not text.strip():  # GPT-2 would embed bare spaces, CLIP nothing: refuse both
            raise EmbeddingError(f"Text {index} ({text!r}) is empty or only whitespace.")


def encode(model: LoadedModel, texts: Sequence[str], form: str) -> list[Encoded]:
    """Tokenize texts into the given input form (see :data:`VARIANTS`)."""
    check_texts(texts)
    tok = model.tokenizer
    encoded = []
    for index, text in enumerate(texts):
        content = _content_ids(tok, text)
        if not content:
            raise EmbeddingError(f"Text {index} ({text!r}) has no tokens to embed.")
        if form == "bare":
            ids = content
            start = 0
        elif form == "eos_wrapped":
            ids = [tok.eos_token_id, *content, tok.eos_token_id]
            start = 1
        elif form == "clip":
            ids = [tok.bos_token_id, *content, tok.eos_token_id]
            start = 1
        elif form == "encoder":  # [CLS] text [SEP]; RoBERTa's cls/sep are <s> and </s>
            ids = [tok.cls_token_id, *content, tok.sep_token_id]
            start = 1
        elif form == "siglip":  # text </s> and padding to every position, as SigLIP was trained
            length = model.spec.max_tokens
            cut = max(len(content) - (length - 1), 0)
            content = content[: length - 1]
            ids = [*content, tok.eos_token_id, *[tok.pad_token_id] * (length - 1 - len(content))]
            encoded.append(Encoded(tuple(ids), 0, len(content), cut))
            continue
        else:
            raise EmbeddingError(f"Unknown input form {form!r}.")
        if len(ids) > model.spec.max_tokens:
            raise EmbeddingError(
                f"Text {index} has {len(ids)} tokens, more than {model.spec.label}'s "
                f"limit of {model.spec.max_tokens}; filter with fits_clip() first."
            )
        encoded.append(Encoded(tuple(ids), start, start + len(content)))
    return encoded


def cut_count(model: LoadedModel, texts: Sequence[str], form: str) -> int:
    """How many of ``texts`` the model's context cuts in input form ``form`` (SigLIP's)."""
    return sum(e.cut > 0 for e in encode(model, texts, form))


def clip_token_counts(clip_tokenizer, texts: Sequence[str]) -> np.ndarray:
    """Number of CLIP tokens of each text including BOS and EOS."""
    return np.array([len(_content_ids(clip_tokenizer, t)) + 2 for t in texts], dtype=int)


def fits_clip(clip_tokenizer, texts: Sequence[str], limit: int = 77) -> np.ndarray:
    """Boolean mask: texts that fit CLIP's context of ``limit`` tokens."""
    return clip_token_counts(clip_tokenizer, texts) <= limit


def allowed_positions(e: Encoded, selector: str) -> range:
    """Input positions a random draw (or the ``mean_no_first`` mean) may use for one text.

    ``random``: the text's own tokens. ``random_no_first`` and ``mean_no_first``: the same
    without input position 0, which for GPT-2's bare input is the first token (its
    attention sink); for CLIP position 0 is BOS, never an own token, so nothing changes.
    ``random_released``: positions 1 .. n-1 of the n-token input. For CLIP that is the
    text tokens and EOS, the rule of the authors' released code (``word_gathering.py``,
    line 34: ``random.randint(1, n)`` with n the length of the tokenization with BOS and
    EOS). ``randint`` includes its top value n, one past EOS: in the authors' padded batch
    a padding position (their pad token is EOS, ``embedding_gathering.py`` line 85), or
    out of range for the longest sentence of a batch. That value has no vector of its
    own text, so we leave it out and draw uniformly from the n-1 others. The released
    code has no rule for GPT-2; on GPT-2's bare input the same positions are the rule
    without position 0. A rule that leaves no position keeps the text's only token.
    """
    if selector == "random":
        allowed = range(e.start, e.stop)
    elif selector in ("random_no_first", "mean_no_first"):
        allowed = range(max(e.start, 1), e.stop)
    elif selector == "random_released":
        allowed = range(1, len(e.ids))
    else:
        raise EmbeddingError(f"Unknown token selector {selector!r}.")
    return allowed if len(allowed) else range(e.start, e.stop)


def random_positions(encoded: Sequence[Encoded], seed: int, selector: str = "random") -> np.ndarray:
    """One position per text, uniform over :func:`allowed_positions` (seeded, order-fixed)."""
    rng = np.random.default_rng(seed)
    spans = [allowed_positions(e, selector) for e in encoded]
    return np.array([rng.integers(span.start, span.stop) for span in spans], dtype=np.int64)


def batches(lengths: Sequence[int], token_budget: int) -> list[np.ndarray]:
    """Indices grouped so that each padded batch holds at most ``token_budget`` tokens.

    Texts are sorted by length (longest first) so padding stays small.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    groups: list[list[int]] = []
    current: list[int] = []
    for index in order:
        width = lengths[current[0]] if current else lengths[index]
        if current and width * (len(current) + 1) > token_budget:
            groups.append(current)
            current = []
        current.append(int(index))
    if current:
        groups.append(current)
    return [np.array(g) for g in groups]
