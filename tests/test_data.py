"""Parsers and verification of the six evaluation files."""

from __future__ import annotations

import shutil

import pytest

from cvsp import data
from cvsp.settings import Settings


@pytest.mark.parametrize(
    ("task", "rows", "first"),
    [
        ("rg65", 65, ("cord", "smile", 0.02)),
        ("wordsim353", 353, ("love", "sex", 6.77)),
        ("simlex999", 999, ("old", "new", 1.58)),
        ("simverb3500", 3500, ("take", "remove", 6.81)),
    ],
)
def test_word_pair_tasks(settings, task, rows, first):
    frame = data.load_word_pairs(task, settings)
    assert list(frame.columns) == ["word1", "word2", "score"]
    assert len(frame) == rows
    assert tuple(frame.iloc[0]) == first
    assert frame["score"].notna().all()


def test_bellezza(settings):
    frame = data.load_bellezza(settings)
    assert list(frame.columns) == ["word", "valence"]
    assert len(frame) == 399
    assert tuple(frame.iloc[0]) == ("abuse", 1.53)
    assert frame["valence"].between(1, 5).all()


def test_weat_attribute_words():
    assert len(data.PLEASANT) == len(set(data.PLEASANT)) == 25
    assert len(data.UNPLEASANT) == len(set(data.UNPLEASANT)) == 25
    assert not set(data.PLEASANT) & set(data.UNPLEASANT)


def test_sts(settings):
    frame = data.load_sts(settings)
    assert list(frame.columns) == ["score", "sentence1", "sentence2"]
    assert len(frame) == 1379
    assert tuple(frame.iloc[0]) == (
        2.5,
        "A girl is styling her hair.",
        "A girl is brushing her hair.",
    )
    assert frame["score"].between(0, 5).all()
    assert frame["sentence1"].str.contains('"').any()  # quotes survive


def test_sts_quirks_parse():
    text = (
        'main-news\tx\t2016\t0001\t3.0\tHe said "no".\tShe said "yes".\tsrc1\tsrc2\n'
        "main-news\tx\t2016\t0002\t1.5\tA b\tC d"  # no trailing newline
    )
    frame = data.parse_sts(text)
    assert frame.to_dict("records") == [
        {"score": 3.0, "sentence1": 'He said "no".', "sentence2": 'She said "yes".'},
        {"score": 1.5, "sentence1": "A b", "sentence2": "C d"},
    ]


def test_sts_sentences_keep_their_spaces_unless_strip_is_asked(settings):
    line = "g\tf\ty\t1\t2.5\t A cat. \tA dog.  \textra\n"
    assert data.parse_sts(line).iloc[0].tolist() == [2.5, " A cat. ", "A dog.  "]  # the default
    assert data.parse_sts(line, strip=True).iloc[0].tolist() == [2.5, "A cat.", "A dog."]
    given, stripped = data.load_sts(settings), data.load_sts(settings, strip=True)
    spaced = (given[["sentence1", "sentence2"]] != stripped[["sentence1", "sentence2"]]).to_numpy()
    assert spaced.sum() == 12  # the 12 sentences of the file that end in a space
    assert (given["score"] == stripped["score"]).all()


def test_rg65_trailing_spaces():
    frame = data.parse_word_pairs("cord;smile;0.02  \nnoon;string;0.04 ", "rg65.csv")
    assert frame["score"].tolist() == [0.02, 0.04]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a;b;1\nc;d\n", "line 2: expected 3 fields"),
        ("a;b;1\nc;d;high\n", "line 2: score 'high' is not a number"),
        ("a;b;\n", "line 1: score '' is not a number"),
        ("", "is empty"),
    ],
)
def test_malformed_word_pairs(text, message):
    with pytest.raises(data.DataError, match=message) as error:
        data.parse_word_pairs(text, "rg65.csv")
    assert str(error.value).startswith("rg65.csv")


def test_unique_sentences_keep_first_order(settings):
    frame = data.parse_sts("g\tf\ty\t1\t1\tA\tB\ng\tf\ty\t2\t2\tB\tC\n")
    assert data.unique_sentences(frame) == ["A", "B", "C"]


def test_hash_mismatch_names_file_and_hashes(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "rg65.csv").write_text("cord;smile;0.03\n")
    settings = Settings(data_dir=folder, cache_dir=tmp_path)
    with pytest.raises(data.DataError) as error:
        data.load_word_pairs("rg65", settings)
    message = str(error.value)
    assert "rg65.csv" in message
    assert data.FILES["rg65"].sha256 in message
    assert data.sha256_of(folder / "rg65.csv") in message


def test_missing_file_is_named(tmp_path):
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path)
    with pytest.raises(data.DataError, match="sts-test.csv is not in CVSP_DATA_DIR"):
        data.load_sts(settings)


def test_verified_copy_loads(settings, tmp_path):
    source = data.fetch("rg65", settings)
    shutil.copy(source, tmp_path / "rg65.csv")
    local = Settings(data_dir=tmp_path, cache_dir=tmp_path)
    assert len(data.load_word_pairs("rg65", local)) == 65
