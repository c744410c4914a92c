"""Everything ``cvsp reproduce`` writes is labelled as a stand-in run when it is one, and
carries no such label when it is not (a few rows of every data set)."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from support.fakes import spread_words

from cvsp import data, experiments, plots, reproduce
from cvsp.stats import BootstrapSettings


@pytest.fixture(scope="module")
def small_words(settings) -> experiments.WordData:
    return spread_words(settings)


@pytest.fixture(scope="module")
def small_run(settings, small_models, small_words, tmp_path_factory) -> reproduce.Run:
    """:func:`cvsp.reproduce.run` on a few rows of every data set, with its own cache
    (small stand-ins: the labels do not depend on the width)."""
    sts = data.load_sts(settings).iloc[:16].reset_index(drop=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiments, "load_word_data", lambda _settings: small_words)
        patch.setattr(data, "load_sts", lambda _settings, **_options: sts)
        return reproduce.run(
            settings.with_(cache_dir=tmp_path_factory.mktemp("small-run")),
            models=small_models,
            progress=False,
            bootstrap=BootstrapSettings(replicates=100),
        )


def _write(run: reproduce.Run, out) -> list[str]:
    """``reproduce.write``; returns the suptitle of every figure it drew."""
    titles = []
    draw = plots.figure

    def spy(*args, **kwargs):
        fig = draw(*args, **kwargs)
        titles.append(fig.get_suptitle())
        return fig

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots, "figure", spy)
        reproduce.write(run, out)
    return titles


def _png_title(path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        return image.text.get("Title", "")


def test_stand_in_outputs_are_labelled_everywhere(small_run, tmp_path):
    assert small_run.stand_in
    out = tmp_path / "out"
    titles = _write(small_run, out)
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["warning"] == reproduce.STAND_IN_WARNING
    assert "STAND-IN" in provenance["warning"] and "RANDOM weights" in provenance["warning"]
    assert provenance["models_source"] == "stand-in"
    assert {m["source"] for m in provenance["models"].values()} == {"stand-in"}
    for table, rows in (
        ("scores.csv", small_run.scores),
        ("comparison.csv", small_run.comparison),
        ("differences.csv", small_run.differences),
    ):
        written = pd.read_csv(out / table)
        assert len(written) == len(rows) > 0, table
        assert set(written["weights"]) == {"stand-in (random)"}, table
    assert len(titles) == len(experiments.RESULTS)
    assert all(plots.STAND_IN_NOTE in title and "STAND-IN" in title for title in titles), titles
    for result in experiments.RESULTS:
        assert "STAND-IN" in _png_title(out / "figures" / f"{result}.png"), result
    assert reproduce.STAND_IN_WARNING in reproduce.summary(small_run)


def test_pretrained_outputs_carry_no_stand_in_label(small_run, tmp_path):
    """The other side of the label: the same tables written as a pretrained run."""
    pretrained = replace(
        small_run, stand_in=False, provenance={**small_run.provenance, "warning": None}
    )
    out = tmp_path / "out"
    titles = _write(pretrained, out)
    for table in ("scores.csv", "comparison.csv", "differences.csv"):
        assert set(pd.read_csv(out / table)["weights"]) == {"pretrained"}, table
    assert titles and not any("STAND-IN" in title for title in titles)
    assert "STAND-IN" not in _png_title(out / "figures" / "sts.png")
    assert reproduce.STAND_IN_WARNING not in reproduce.summary(pretrained)
