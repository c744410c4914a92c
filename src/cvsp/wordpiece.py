"""A stand-in WordPiece tokenizer for the stand-ins of BERT-family models.

No BERT vocabulary can be read where this project's tests run (no hub), so the
stand-ins of ``bert-base-uncased`` and its SimCSE fine-tunes get a WordPiece tokenizer
whose vocabulary is built here from the texts the experiments embed (the STS-B test
sentences and the words of the word-level tasks), tokenized by the ``tokenizers``
library's WordPiece model. It is uncased, has BERT's
special tokens (``[PAD] [UNK] [CLS] [SEP] [MASK]``) and is padded with ``[unusedN]``
entries to BERT's 30,522 ids, so the stand-in keeps BERT's architecture at full size.
Its pieces are **not** BERT's: numbers from it mean nothing about BERT. Real weights
always come with their own tokenizer from the hub; this one is never used for them.

Used by :mod:`cvsp.models` (stand-ins of the ``bert`` family).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer
from transformers import BertTokenizerFast, PreTrainedTokenizerBase

from cvsp import data

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRAINED_PIECES = 8000  # pieces from the texts; small enough that rarer words split into several pieces, as in BERT
BERT_VOCAB_SIZE = 30522
LABEL = (
    f"stand-in WordPiece tokenizer ({TRAINED_PIECES:,} pieces from the evaluation texts, "
    f"padded to {BERT_VOCAB_SIZE:,} ids): not BERT's vocabulary"
)


def vocabulary(texts: Iterable[str], pieces: int = TRAINED_PIECES) -> list[str]:
    """Up to ``pieces`` WordPiece entries from ``texts``, the same for the same texts.

    BERT's normalizer and pre-tokenizer split the texts into lower-cased words. The
    vocabulary holds the special tokens, every character (alone and as a ``##`` suffix
    piece), then, by frequency with ties broken alphabetically, half of the remaining
    room for whole words and half for word starts and ``##`` continuations of 2 to 6
    characters, so frequent words stay whole and rarer ones split into pieces. (The
    ``tokenizers`` WordPiece trainer gives a different vocabulary on every run, which a
    stand-in must not.)
    """
    normalizer, splitter = BertNormalizer(lowercase=True), BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({c for word in words for c in word})
    chosen = [*SPECIAL_TOKENS, *characters, *(f"##{c}" for c in characters)]
    room = max(pieces - len(chosen), 0)
    parts: Counter[str] = Counter()
    for word, count in words.items():
        for length in range(2, min(len(word), 7)):
            parts[word[:length]] += count
            parts["##" + word[-length:]] += count
    seen = set(chosen)
    for pool, share in ((words, room // 2), (parts, room - room // 2)):
        ranked = [
            p
            for p, _ in sorted(pool.items(), key=lambda item: (-item[1], item[0]))
            if p not in seen
        ]
        chosen += ranked[:share]
        seen.update(ranked[:share])
    return chosen[:pieces]


def train(
    texts: Iterable[str], pieces: int = TRAINED_PIECES, size: int = BERT_VOCAB_SIZE
) -> PreTrainedTokenizerBase:
    """An uncased WordPiece tokenizer of exactly ``size`` ids built from ``texts``.

    The pieces come from :func:`vocabulary`; ids past them are ``[unusedN]`` entries,
    which no text can produce (as in BERT's own vocabulary).
    """
    tokens = vocabulary(texts, pieces)
    tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(tokens)}, do_lower_case=True, model_max_length=512
    )
    if len(tokenizer) != size:
        raise ValueError(f"The stand-in tokenizer has {len(tokenizer)} ids, not {size}.")
    return tokenizer


def evaluation_texts(settings) -> list[str]:
    """The texts the stand-in tokenizer is trained on, in a fixed order."""
    texts = data.unique_sentences(data.load_sts(settings))
    for task in data.WORD_PAIR_TASKS:
        frame = data.load_word_pairs(task, settings)
        texts += sorted(set(frame["word1"]) | set(frame["word2"]))
    texts += sorted(data.load_bellezza(settings)["word"])
    return texts
