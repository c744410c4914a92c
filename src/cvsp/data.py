"""The six evaluation files: where they come from, how to verify them, how to parse them.

Files are fetched from the paper authors' repository at a pinned commit and checked
against a sha256 before use. With ``CVSP_DATA_DIR`` set, the same files are read from
that folder instead (and checked the same way). Parsers are pure functions from text
to tidy DataFrames and name the file and line of anything they cannot read.

Used by every chapter: word-pair tasks and ValNorm in ``02_word_similarity``, the STS
Benchmark in ``03_sts``, the sentence corpus in ``01_cwe_anisotropy`` and
``04_sentence_self_similarity``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pooch
import requests

from cvsp.settings import Settings

AUTHORS_REPO = "wolferobert3/clip_contrastive_acl_2022"
AUTHORS_COMMIT = "36108ea6fa4be58bea3bc68fd1d28f71140ab3a6"
BASE_URL = f"https://raw.githubusercontent.com/{AUTHORS_REPO}/{AUTHORS_COMMIT}/data/"


@dataclass(frozen=True)
class DataFile:
    """One evaluation file: its name in the authors' repository, hash, size and origin."""

    filename: str
    sha256: str
    rows: int
    citation: str

    @property
    def url(self) -> str:
        return BASE_URL + self.filename


FILES: dict[str, DataFile] = {
    "rg65": DataFile(
        "rg65.csv",
        "42dc8a52d3d58252f4c6b9fa3d6f38232c05ea8137d37f7bc8f203f2c99cc95d",
        65,
        "Rubenstein & Goodenough (1965)",
    ),
    "wordsim353": DataFile(
        "wordsim353.csv",
        "2371c9fd185be669345f9fdabe32b2e8df77b2471773a72e24cbd9fd55b03296",
        353,
        "Finkelstein et al. (2002)",
    ),
    "simlex999": DataFile(
        "simlex999.csv",
        "1a87c84ca4cbb985103829b7bd7a2c0b7db08f1adaac6811ff1499aee61a3a46",
        999,
        "Hill, Reichart & Korhonen (2015)",
    ),
    "simverb3500": DataFile(
        "SimVerb-3500.txt",
        "b58f68454cf9354b94ecd8bfd778ff2cc784a25fc7dca02bc695319ad2b4157e",
        3500,
        "Gerz et al. (2016)",
    ),
    "bellezza": DataFile(
        "Bellezza_Lexicon.csv",
        "730f4cf3909efbd6ba87d37fd9e1e9a1d7eb632497c8c27e24623a19ffaa84e0",
        399,
        "Bellezza, Greenwald & Banaji (1986)",
    ),
    "stsb": DataFile(
        "sts-test.csv",
        "affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
        1379,
        "Cer et al. (2017), SemEval-2017 Task 1",
    ),
}

WORD_PAIR_TASKS: tuple[str, ...] = ("rg65", "wordsim353", "simlex999", "simverb3500")

# WEAT attribute words of Caliskan, Bryson & Narayanan (2017), used by ValNorm.
PLEASANT: tuple[str, ...] = (
    "caress",
    "freedom",
    "health",
    "love",
    "peace",
    "cheer",
    "friend",
    "heaven",
    "loyal",
    "pleasure",
    "diamond",
    "gentle",
    "honest",
    "lucky",
    "rainbow",
    "diploma",
    "gift",
    "honor",
    "miracle",
    "sunrise",
    "family",
    "happy",
    "laughter",
    "paradise",
    "vacation",
)
UNPLEASANT: tuple[str, ...] = (
    "abuse",
    "crash",
    "filth",
    "murder",
    "sickness",
    "accident",
    "death",
    "grief",
    "poison",
    "stink",
    "assault",
    "disaster",
    "hatred",
    "pollute",
    "tragedy",
    "divorce",
    "jail",
    "poverty",
    "ugly",
    "cancer",
    "kill",
    "rotten",
    "vomit",
    "agony",
    "prison",
)


class DataError(ValueError):
    """An evaluation file is missing, altered or unreadable."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> None:
    """Raise :class:`DataError` unless the file at ``path`` has the expected sha256."""
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(
            f"{path} does not match its registry entry: expected sha256 {expected}, "
            f"got {actual}. Delete it (or restore the original) and run again."
        )


def fetch(name: str, settings: Settings) -> Path:
    """Path of a verified local copy of dataset ``name`` (a key of :data:`FILES`)."""
    if name not in FILES:
        raise DataError(f"Unknown dataset {name!r}; known: {', '.join(FILES)}.")
    entry = FILES[name]
    if settings.data_dir is not None:
        path = settings.data_dir / entry.filename
        if not path.is_file():
            raise DataError(
                f"{entry.filename} is not in CVSP_DATA_DIR ({settings.data_dir}); "
                f"download it from {entry.url} or unset CVSP_DATA_DIR."
            )
    else:
        try:
            path = Path(
                pooch.retrieve(
                    entry.url,
                    known_hash=f"sha256:{entry.sha256}",  # pooch keeps only a matching file
                    fname=entry.filename,
                    path=settings.cache_dir / "data",
                    progressbar=False,
                )
            )
        except ValueError as error:  # pooch: the file's sha256 is not the registry's
            raise DataError(
                f"The download of {entry.filename} from {entry.url} does not match its "
                f"registry entry and was not kept ({error})."
            ) from error
        except (requests.RequestException, OSError) as error:  # unreachable, refused, timed out
            raise DataError(
                f"Could not download {entry.filename} from {entry.url} ({error}). "
                "Check the connection, or set CVSP_DATA_DIR to a folder with the file."
            ) from error
        return path
    verify(path, entry.sha256)
    return path


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path.name} is not UTF-8 text ({error}).") from error


def _score(text: str, filename: str, line: int) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise DataError(
            f"{filename}, line {line}: score {text.strip()!r} is not a number."
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise DataError(f"{filename}, line {line}: score {text.strip()!r} is not finite.")
    return value


def _lines(text: str, filename: str) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; an empty file is an error."""
    rows = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:
        raise DataError(f"{filename} is empty.")
    return rows


def _parse_pairs(text: str, filename: str, sep: str, n_fields: int, score_at: int) -> pd.DataFrame:
    """Lines of ``n_fields`` fields: two words first, the score at ``score_at``."""
    records = []
    for number, line in _lines(text, filename):
        fields = line.split(sep)
        if len(fields) != n_fields:
            raise DataError(
                f"{filename}, line {number}: expected {n_fields} fields separated by "
                f"{sep!r}, found {len(fields)}."
            )
        word1, word2 = fields[0].strip(), fields[1].strip()
        if not word1 or not word2:
            raise DataError(f"{filename}, line {number}: a word is missing.")
        records.append((word1, word2, _score(fields[score_at], filename, number)))
    return pd.DataFrame(records, columns=["word1", "word2", "score"])


def parse_word_pairs(text: str, filename: str, sep: str = ";") -> pd.DataFrame:
    """Parse ``word1<sep>word2<sep>score`` lines into ``word1, word2, score``."""
    return _parse_pairs(text, filename, sep, n_fields=3, score_at=2)


def parse_simverb(text: str, filename: str = "SimVerb-3500.txt") -> pd.DataFrame:
    """Parse SimVerb-3500 (``w1 TAB w2 TAB POS TAB score TAB relation``)."""
    return _parse_pairs(text, filename, "\t", n_fields=5, score_at=3)


def parse_bellezza(text: str, filename: str = "Bellezza_Lexicon.csv") -> pd.DataFrame:
    """Parse the Bellezza lexicon into ``word, valence`` (valence = combined pleasantness)."""
    _lines(text, filename)
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    try:
        word_col = header.index("word")
        valence_col = header.index("combined_pleasantness")
    except ValueError:
        raise DataError(
            f"{filename}, line 1: header must contain 'word' and 'combined_pleasantness'."
        ) from None
    records = []
    for number, fields in enumerate(reader, start=2):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            raise DataError(
                f"{filename}, line {number}: expected {len(header)} fields, found {len(fields)}."
            )
        word = fields[word_col].strip()
        if not word:
            raise DataError(f"{filename}, line {number}: the word is missing.")
        records.append((word, _score(fields[valence_col], filename, number)))
    if not records:
        raise DataError(f"{filename} has a header but no rows.")
    return pd.DataFrame(records, columns=["word", "valence"])


def parse_sts(text: str, filename: str = "sts-test.csv", *, strip: bool = False) -> pd.DataFrame:
    """Parse the STS Benchmark into ``score, sentence1, sentence2``.

    The file is tab-separated without quoting: sentences keep their quote characters,
    and extra source columns after the second sentence are ignored.

    ``strip`` (default ``False``): by default every sentence is kept exactly as the file
    gives it, as the authors' released code reads it (``sentence_evaluations.py``,
    lines 79-88, strips nothing). 12 sentences of the test set end in a space, which
    GPT-2 reads as one more token (``Ġ``), so its last token changes; CLIP's tokenizer
    drops the space either way. ``strip=True`` removes leading and trailing whitespace,
    only to measure what that cleaning would change (chapter "Reproducing the
    reproduction").
    """
    records = []
    for number, line in _lines(text, filename):
        fields = line.split("\t")
        if len(fields) < 7:
            raise DataError(
                f"{filename}, line {number}: expected at least 7 tab-separated fields, "
                f"found {len(fields)}."
            )
        sentence1, sentence2 = fields[5], fields[6]  # as given: 12 sentences end in spaces
        if strip:
            sentence1, sentence2 = sentence1.strip(), sentence2.strip()
        if not sentence1.strip() or not sentence2.strip():
            raise DataError(f"{filename}, line {number}: a sentence is missing.")
        records.append((_score(fields[4], filename, number), sentence1, sentence2))
    return pd.DataFrame(records, columns=["score", "sentence1", "sentence2"])


def _check_rows(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    expected = FILES[name].rows
    if len(frame) != expected:
        raise DataError(f"{FILES[name].filename}: parsed {len(frame)} rows, expected {expected}.")
    return frame


def load_word_pairs(name: str, settings: Settings) -> pd.DataFrame:
    """A word-pair task (``rg65``, ``wordsim353``, ``simlex999``, ``simverb3500``)."""
    if name not in WORD_PAIR_TASKS:
        raise DataError(f"{name!r} is not a word-pair task; choose from {WORD_PAIR_TASKS}.")
    path = fetch(name, settings)
    text = _read_text(path)
    if name == "simverb3500":
        frame = parse_simverb(text, path.name)
    else:
        frame = parse_word_pairs(text, path.name)
    return _check_rows(frame, name)


def load_bellezza(settings: Settings) -> pd.DataFrame:
    """The Bellezza lexicon: 399 words with human valence ratings (1 to 5)."""
    path = fetch("bellezza", settings)
    return _check_rows(parse_bellezza(_read_text(path), path.name), "bellezza")


def load_sts(settings: Settings, *, strip: bool = False) -> pd.DataFrame:
    """The STS Benchmark test set: 1,379 scored sentence pairs, sentences as given
    (``strip=True`` only to measure the effect of cleaning them, see :func:`parse_sts`)."""
    path = fetch("stsb", settings)
    return _check_rows(parse_sts(_read_text(path), path.name, strip=strip), "stsb")


def unique_sentences(sts: pd.DataFrame) -> list[str]:
    """The distinct sentences of an STS table, in order of first appearance."""
    seen: dict[str, None] = {}
    for first, second in zip(sts["sentence1"], sts["sentence2"]):
        seen.setdefault(first)
        seen.setdefault(second)
    return list(seen)


def data_hashes(settings: Settings) -> dict[str, str]:
    """The verified sha256 of every file, for provenance records."""
    return {FILES[name].filename: sha256_of(fetch(name, settings)) for name in FILES}
