"""A chapter's computed values kept as tables (cvsp.tabled): taken apart and put together
again unchanged, computed once, keyed by everything they depend on and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from cvsp.cache import DiskStore
from cvsp.tabled import cached_call, describe, from_tables, to_tables


@dataclass(frozen=True)
class Measured:  # a value of the shape chapter 5's measurement has
    effects: pd.DataFrame
    counts: tuple[int, float]
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Model:  # what describe() reads of an embedder
    fingerprint: str
    seed: int = 0


def _frames() -> dict[str, pd.DataFrame]:
    plain = pd.DataFrame({"layer": ["0", "12", "final_ln"], "value": [0.5, np.nan, 1 / 3]})
    named = plain.set_index("layer")
    two = plain.assign(model=["gpt2", "clip", "clip"]).set_index(["model", "layer"])
    dims = plain.assign(top3=[(1, 5, 9), (2, 3, 4), (0, 0, 1)], words=[["a"], ["b", "c"], np.nan])
    return {
        "plain": plain,
        "named": named,
        "two levels": two,
        "sequences": dims,
        "rows picked": plain.iloc[[2, 0]],  # an unnamed index that is not 0..n-1
        "rows named": plain.rename_axis("row"),  # 0..n-1, named
    }


@pytest.mark.parametrize("name", list(_frames()))
def test_a_table_comes_back_from_the_store_with_its_index(tmp_path, name):
    frame = _frames()[name]

    def compute() -> pd.DataFrame:
        return frame

    back = cached_call(DiskStore(tmp_path), compute)
    pd.testing.assert_frame_equal(back, frame)
    for column in ("top3", "words"):  # tuples and lists come back as they were
        if column in frame:
            cells = zip(back[column].dropna(), frame[column].dropna(), strict=True)
            assert all(type(mine) is type(theirs) for mine, theirs in cells), column


def test_tuples_dataclasses_and_plain_values_come_back():
    value = (
        0.25,
        Measured(_frames()["plain"], (3, 0.5), {"n": 7, "names": ["a", "b"], "gap": None}),
    )
    tables, structure = to_tables(value)
    back = from_tables(tables, structure)
    assert back[0] == 0.25 and isinstance(back[1], Measured)
    pd.testing.assert_frame_equal(back[1].effects, value[1].effects)
    assert back[1].counts == (3, 0.5) and back[1].facts == value[1].facts


def test_what_no_table_can_hold_is_refused():
    wide = pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("a", "0"), ("a", "1")]))
    with pytest.raises(TypeError, match="several column levels"):
        to_tables(wide)
    with pytest.raises(TypeError, match="cannot be kept"):
        to_tables({"model": object()})
    with pytest.raises(TypeError, match="No cache key for a object"):
        describe(object())


def test_a_call_is_computed_once_and_read_back_as_stored(tmp_path):
    store = DiskStore(tmp_path)
    calls = []

    def scores(embedders, texts, bootstrap=100):
        calls.append(bootstrap)
        return _frames()["named"].assign(value=[1 / 3, 2.0, float(len(texts))])

    embedders = {"gpt2": Model("stand-in:gpt2:seed0:abc")}
    first = cached_call(store, scores, embedders, ["a", "b"], bootstrap=100)
    again = cached_call(store, scores, embedders, ["a", "b"], bootstrap=100)
    assert calls == [100]
    pd.testing.assert_frame_equal(first, again)  # the first call returns the stored tables
    assert first.loc["final_ln", "value"] == 2.0 and list(first.index) == ["0", "12", "final_ln"]


def test_the_key_is_every_argument_and_the_code_and_not_what_is_unkeyed(tmp_path):
    calls = []

    def count(embedders, texts, memo=None):
        calls.append(len(calls))
        return len(calls)

    model = {"gpt2": Model("stand-in:gpt2:seed0:abc")}
    store = DiskStore(tmp_path)
    assert cached_call(store, count, model, ["a"], unkeyed={"memo": {}}) == 1
    assert cached_call(store, count, model, ["a"], unkeyed={"memo": {"fitted": 1}}) == 1
    assert cached_call(store, count, model, ["b"]) == 2  # other texts
    assert cached_call(store, count, {"gpt2": Model("stand-in:gpt2:seed0:abd")}, ["a"]) == 3
    assert cached_call(store, count, {"gpt2": Model(model["gpt2"].fingerprint, 1)}, ["a"]) == 4

    class Changed(DiskStore):
        code = "another digest"

    assert cached_call(Changed(tmp_path), count, model, ["a"]) == 5  # other code
    assert cached_call(None, count, model, ["a"]) == 6  # no store: computed
    assert cached_call(store, count, model, ["a"]) == 1
