"""A value a chapter computes, kept as tables: what a replayed page reads instead.

:func:`cached_call` keys a call by the function and what its arguments are (models by
their fingerprints, inputs by their digests: :func:`describe`) and the store's code
digest, and keeps its value in the cache's ``tables`` as CSV files beside
``structure.csv``, a line of JSON that says how they make the value again: a data frame
(its index restored), a tuple, a dataclass (fields by name), or plain JSON (numbers,
strings, lists and dicts of them). What a call returns is always what the store gives
back, so a first run, a later run and a replayed page show the same tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from cvsp import cache
from cvsp.cache import Store, texts_digest

KIND = "tables"
STRUCTURE = "structure"
FORMAT = 1


def describe(value: Any) -> Any:
    """What ``value`` is, as JSON, for a cache key: what it says of itself
    (``cache_description()``), an embedder by its model's fingerprint and its seed, the corpus and word lists by their digests, a table or a
    long text by its sha256, settings (dataclasses) field by field."""
    if hasattr(value, "cache_description"):  # e.g. cvsp.lazy's models and tokenizers
        return value.cache_description()
    if hasattr(value, "fingerprint") and hasattr(value, "seed"):
        return {"model": value.fingerprint, "seed": value.seed}
    if hasattr(value, "digests"):  # cvsp.experiments.inputs' WordData, SentenceData
        return value.digests()
    if isinstance(value, pd.DataFrame | pd.Series):
        return {"table": hashlib.sha256(value.to_csv().encode()).hexdigest()}
    if isinstance(value, str):
        return value if len(value) <= 200 else {"text": texts_digest([value])}
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple | range):
        return [describe(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: describe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"No cache key for a {type(value).__name__}: describe it, or leave it unkeyed.")


def call_key(function: Callable, args: tuple, kwargs: Mapping[str, Any], code: str) -> str:
    """The key of ``function(*args, **kwargs)``: the function's name, its arguments
    (:func:`describe`) and ``code`` (the store's :attr:`~cvsp.cache.Store.code`)."""
    return cache.key(
        format=FORMAT,
        function=f"{function.__module__}.{function.__qualname__}",
        args=describe(args),
        kwargs=describe(dict(kwargs)),
        code=code,
    )


def cached_call(
    store: Store | None,
    function: Callable,
    *args: Any,
    unkeyed: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs, **unkeyed)`` read from ``store``'s tables, or computed
    and kept there (``unkeyed``: arguments that change how fast, never what, e.g. a
    memo of fitted maps). Without a store, simply computed."""

    def run() -> Any:
        return function(*args, **kwargs, **(unkeyed or {}))

    if store is None:
        return run()
    key = call_key(function, args, kwargs, store.code)
    found = store.get_tables(KIND, key, [STRUCTURE])
    if found is None:
        tables, structure = to_tables(run())
        store.put_tables(KIND, key, {STRUCTURE: _structure_table(structure), **tables})
        found = store.get_tables(KIND, key, [STRUCTURE])
        assert found is not None
    structure = json.loads(found[0][STRUCTURE].iloc[0])
    names = _frames(structure)
    read = store.get_tables(KIND, key, names) if names else ()
    assert read is not None
    tables = dict(zip(names, read, strict=True))  # mutants: equivalent: a table per name asked
    return from_tables(tables, structure)


def _structure_table(structure: Any) -> pd.DataFrame:
    return pd.DataFrame({STRUCTURE: [json.dumps(structure)]})


def to_tables(value: Any, name: str = "value") -> tuple[dict[str, pd.DataFrame], Any]:
    """``value`` as named tables and the structure that assembles them again."""
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):
        if isinstance(value.columns, pd.MultiIndex):
            raise TypeError(f"{name}: a table with several column levels; flatten it first.")
        plain = value.index.name is None and value.index.equals(pd.RangeIndex(len(value)))
        names = list(value.index.names)
        index = None if plain else [n or f"level_{i}" for i, n in enumerate(names)]
        frame = value if plain else value.rename_axis(index).reset_index()
        sequences = _sequence_columns(frame)  # CSV has no lists: they are kept as JSON
        frame = frame.assign(**{c: frame[c].map(_json_list) for c in sequences})
        return {name: frame}, {
            "frame": name,
            "index": index,
            "names": names,
            "sequences": sequences,
        }
    if isinstance(value, tuple):
        parts = [to_tables(v, f"{name}.{i}") for i, v in enumerate(value)]
        return _merge(parts), {"tuple": [structure for _, structure in parts]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: to_tables(getattr(value, f.name), f"{name}.{f.name}")
            for f in dataclasses.fields(value)
        }
        kind = f"{type(value).__module__}:{type(value).__qualname__}"
        return _merge(fields.values()), {
            "dataclass": kind,
            "fields": {k: structure for k, (_, structure) in fields.items()},
        }
    json.dumps(value, default=_plain)  # raises for what JSON cannot hold
    return {}, {"json": json.loads(json.dumps(value, default=_plain))}


def from_tables(tables: Mapping[str, pd.DataFrame], structure: Any) -> Any:
    """The value :func:`to_tables` took apart."""
    if "frame" in structure:
        frame = tables[structure["frame"]]
        sequences = structure.get("sequences", {})
        frame = frame.assign(**{c: frame[c].map(_from_json(kind)) for c, kind in sequences.items()})
        if structure["index"] is None:
            return frame
        return frame.set_index(structure["index"]).rename_axis(structure["names"])
    if "tuple" in structure:
        return tuple(from_tables(tables, part) for part in structure["tuple"])
    if "dataclass" in structure:
        module, _, name = structure["dataclass"].partition(":")
        kind = getattr(importlib.import_module(module), name)
        return kind(**{k: from_tables(tables, s) for k, s in structure["fields"].items()})
    return structure["json"]


def _frames(structure: Any) -> list[str]:
    """The names of the tables ``structure`` assembles, in order."""
    if "frame" in structure:
        return [structure["frame"]]
    parts = structure.get("tuple") or list(structure.get("fields", {}).values())
    return [name for part in parts for name in _frames(part)]


def _merge(parts) -> dict[str, pd.DataFrame]:
    return {name: frame for tables, _ in parts for name, frame in tables.items()}


def _sequence_columns(frame: pd.DataFrame) -> dict[str, str]:
    """``column -> "tuple" or "list"`` for each column whose cells are all one of them."""
    found = {}
    for column in frame.columns:
        cells = frame[column].dropna()
        if frame[column].dtype.kind != "O":
            continue
        for kind in (tuple, list):
            if len(cells) and all(isinstance(cell, kind) for cell in cells):
                found[str(column)] = kind.__name__
    return found


def _json_list(cell: Any) -> Any:
    return cell if cell is None or cell is np.nan else json.dumps(list(cell), default=_plain)


def _from_json(kind: str) -> Callable[[Any], Any]:
    make = tuple if kind == "tuple" else list
    return lambda cell: make(json.loads(cell)) if isinstance(cell, str) else cell


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"A {type(value).__name__} cannot be kept in a table.")
