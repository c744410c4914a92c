"""A stand-in SentencePiece tokenizer for the stand-in of SigLIP.

SigLIP's vocabulary (a SentencePiece Unigram model of 32,000 pieces) cannot be read where
this project's tests run (no hub), so the SigLIP stand-in gets a SentencePiece Unigram
model trained here, with the ``sentencepiece`` library, on the texts the experiments
embed (:func:`cvsp.wordpiece.evaluation_texts`), after the canonicalization SigLIP's
tokenizer applies (lower case, no punctuation). It has SigLIP's special pieces at
SigLIP's ids (``<pad>`` 0, ``</s>`` 1, which is also its padding token, ``<unk>`` 2)
and is padded with unused pieces to 32,000 ids, so the stand-in keeps SigLIP's
architecture at full size; it is read by transformers' own ``SiglipTokenizer``, the
class the real checkpoint uses. Its pieces are **not** SigLIP's: numbers from it mean
nothing about SigLIP. Real weights always come with their own tokenizer from the hub.

Used by :mod:`cvsp.models` (stand-ins of the ``siglip`` family).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2
from transformers import PreTrainedTokenizerBase, SiglipTokenizer

TRAINED_PIECES = 8000  # at most this many pieces learnt (the texts support about 4,450); rarer words split, as in SigLIP
SIGLIP_VOCAB_SIZE = 32000
MAX_LENGTH = 64
LABEL = (
    f"stand-in SentencePiece Unigram tokenizer (up to {TRAINED_PIECES:,} pieces from the evaluation texts, "
    f"padded to {SIGLIP_VOCAB_SIZE:,} ids): not SigLIP's vocabulary"
)
_UNUSED = 5  # ModelProto.SentencePiece.Type.UNUSED: an id no text can produce


def _trained(texts: list[str], pieces: int) -> bytes:
    """The serialized Unigram model, the same for the same texts (one thread, no shuffling)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="unigram",
        vocab_size=pieces,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        character_coverage=1.0,
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return model.getvalue()


def _canonical(text: str) -> str:
    """``text`` as SigLIP's tokenizer sees it (transformers' own ``canonicalize_text``,
    which reads nothing of the tokenizer but these two attributes)."""
    reader = SimpleNamespace(
        do_lower_case=True, remove_punctuation=partial(SiglipTokenizer.remove_punctuation, None)
    )
    return SiglipTokenizer.canonicalize_text(reader, text)


def train(
    texts: Iterable[str], pieces: int = TRAINED_PIECES, size: int = SIGLIP_VOCAB_SIZE
) -> PreTrainedTokenizerBase:
    """A ``SiglipTokenizer`` of exactly ``size`` ids whose pieces are learnt from ``texts``.

    The texts are canonicalized as SigLIP's tokenizer does before they are learnt from;
    the ids past the learnt pieces are unused pieces (``<unusedN>``).
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spiece.model"
        path.write_bytes(b"")
        cleaned = [c for c in map(_canonical, texts) if c]
        proto = model_pb2.ModelProto()
        proto.ParseFromString(_trained(cleaned, pieces))
        for i in range(size - len(proto.pieces)):
            proto.pieces.add(piece=f"<unused{i}>", score=0.0, type=_UNUSED)
        path.write_bytes(proto.SerializeToString())
        tokenizer = SiglipTokenizer(vocab_file=str(path), model_max_length=MAX_LENGTH)
        tokenizer.sp_model.LoadFromSerializedProto(
            proto.SerializeToString()
        )  # independent of the folder
    if len(tokenizer) != size:
        raise ValueError(f"The stand-in tokenizer has {len(tokenizer)} ids, not {size}.")
    return tokenizer
