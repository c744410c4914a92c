"""Damaged data files: an error naming the file (and line); nothing half-parsed returned."""

from __future__ import annotations

import functools
import http.server
import socketserver
import threading

import pytest

from cvsp import data
from cvsp.settings import Settings


@pytest.fixture()
def local_copy(settings, tmp_path):
    """A CVSP_DATA_DIR with verified copies of all six files."""
    for name, entry in data.FILES.items():
        (tmp_path / entry.filename).write_bytes(data.fetch(name, settings).read_bytes())
    return tmp_path


def _settings(folder) -> Settings:
    return Settings(data_dir=folder, cache_dir=folder / "cache")


def test_missing_file(local_copy):
    (local_copy / "simlex999.csv").unlink()
    with pytest.raises(data.DataError, match="simlex999.csv is not in CVSP_DATA_DIR"):
        data.load_word_pairs("simlex999", _settings(local_copy))


@pytest.mark.parametrize("name", list(data.FILES))
def test_truncated_file(local_copy, name):
    path = local_copy / data.FILES[name].filename
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(data.DataError, match=f"{path.name} does not match its registry entry"):
        data.fetch(name, _settings(local_copy))


def test_wrong_hash_names_both_hashes(local_copy):
    path = local_copy / "sts-test.csv"
    path.write_bytes(path.read_bytes().replace(b"girl", b"gal", 1))
    with pytest.raises(data.DataError) as error:
        data.load_sts(_settings(local_copy))
    assert data.FILES["stsb"].sha256 in str(error.value)
    assert data.sha256_of(path) in str(error.value)


def test_empty_file(local_copy):
    (local_copy / "rg65.csv").write_bytes(b"")
    with pytest.raises(data.DataError, match="does not match"):
        data.load_word_pairs("rg65", _settings(local_copy))
    with pytest.raises(data.DataError, match="rg65.csv is empty"):
        data.parse_word_pairs("", "rg65.csv")


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (data.parse_word_pairs, "a;b;1\nc;d\n", "line 2: expected 3 fields"),
        (data.parse_word_pairs, "a;b;1\nc;d;;\n", "line 2: expected 3 fields"),
        (data.parse_word_pairs, "a;b;x\n", "line 1: score 'x' is not a number"),
        (data.parse_word_pairs, "a;b;nan\n", "line 1: score 'nan' is not finite"),
        (data.parse_word_pairs, ";b;1\n", "line 1: a word is missing"),
        (data.parse_simverb, "a\tb\tV\t\tSYN\n", "line 1: score '' is not a number"),
        (data.parse_simverb, "a\tb\tV\t1.0\n", "line 1: expected 5 fields separated by"),
        (data.parse_sts, "g\tf\ty\t1\t2.0\tA\n", "line 1: expected at least 7"),
        (data.parse_sts, "g\tf\ty\t1\tfive\tA\tB\n", "line 1: score 'five' is not a number"),
        (data.parse_sts, "g\tf\ty\t1\t2\t\tB\n", "line 1: a sentence is missing"),
        (data.parse_bellezza, "word,combined_pleasantness\nx,2\ny\n", "line 3: expected 2 fields"),
        (data.parse_bellezza, "word,combined_pleasantness\nx,nice\n", "line 2: score 'nice'"),
        (data.parse_bellezza, "word,valence\nx,2\n", "line 1: header must contain"),
        (data.parse_bellezza, "word,combined_pleasantness\n", "has a header but no rows"),
    ],
)
def test_malformed_rows_name_file_and_line(parser, text, message):
    with pytest.raises(data.DataError, match=message) as error:
        parser(text, "the-file.txt")
    assert str(error.value).startswith("the-file.txt")


def test_wrong_row_count_is_an_error(monkeypatch, local_copy):
    monkeypatch.setitem(
        data.FILES,
        "rg65",
        data.FILES["rg65"].__class__("rg65.csv", data.FILES["rg65"].sha256, 66, "test"),
    )
    with pytest.raises(data.DataError, match="parsed 65 rows, expected 66"):
        data.load_word_pairs("rg65", _settings(local_copy))


def test_sts_quirks_still_parse(settings):
    frame = data.load_sts(settings)
    assert len(frame) == 1379
    assert not frame["sentence2"].str.contains("\t").any()


def test_a_download_that_fails_its_hash_is_refused_and_not_kept(monkeypatch, tmp_path):
    """A server that sends altered bytes: pooch checks them against the registry's sha256,
    and nothing is kept in the cache."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "rg65.csv").write_text("tampered;file;1\n")
    handler = functools.partial(QuietHandler, directory=str(served))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setattr(data, "BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/")
        try:
            with pytest.raises(data.DataError, match="does not match its registry entry"):
                data.load_word_pairs("rg65", Settings(cache_dir=tmp_path / "cache"))
        finally:
            server.shutdown()
    assert not list((tmp_path / "cache" / "data").glob("*rg65*"))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines in the test's output
        pass
