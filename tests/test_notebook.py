"""The chapters' helpers for intervals: formatting, tables and the paired-difference figure."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.transforms import Bbox
from test_paper import synthetic_scores

from cvsp import notebook, paper, plots, verdicts
from cvsp.plots import phone
from cvsp.settings import Settings

DIFFERENCE_COLUMNS = [
    "result",
    "task",
    "clip_variant",
    "gpt2_variant",
    "layer",
    "difference",
    "ci_low",
    "ci_high",
    "t",
    "p",
]


def _differences(result: str = "sts", tasks=("stsb",)) -> pd.DataFrame:
    rows = []
    for task in tasks:
        for clip_variant, gpt2_variant in (("eos", "last_token"), ("eos", "eos")):
            for layer in [*map(str, range(13)), "best"]:
                d = 0.1 + (0.01 * int(layer) if layer != "best" else 0.3)
                t = np.nan if layer == "best" else 2.0
                rows.append(
                    (
                        result,
                        task,
                        clip_variant,
                        gpt2_variant,
                        layer,
                        d,
                        d - 0.05,
                        d + 0.05,
                        t,
                        0.04,
                    )
                )
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def test_interval_text():
    assert notebook.interval(0.61234, 0.655) == "[0.612, 0.655]"
    assert notebook.interval(0.1, 0.2, digits=2) == "[0.10, 0.20]"
    assert notebook.interval(np.nan, 0.2) == "—"


def test_comparison_table_gives_the_claim_our_interval_and_the_verdict_in_words():
    scores = synthetic_scores()
    claims = pd.DataFrame({"claim": [c.text for c in paper.REPORTED]}).assign(
        ci_low=0.40, ci_high=0.75
    )
    plain = notebook.comparison_table(scores, "sts").data
    assert "95 % interval" not in plain.columns
    styled = notebook.comparison_table(scores, "sts", claims)
    table = styled.data
    clip = next(c for c in paper.REPORTED if c.result == "sts" and c.model == "clip")
    row = table.loc[clip.text]
    assert row["95 % interval"] == "[0.400, 0.750]" and row["paper"] == "≈ 0.73"
    expected = verdicts.verdict("sts", "≈", 0.73, clip.ours(scores), 0.40, 0.75)
    assert row["verdict"] == expected and expected.endswith("part of the interval meets it")
    assert "holds" not in table.columns and "paper inside" not in table.columns
    assert expected in styled.to_html()  # shown whole, not cut at pandas' column width


def test_differences_table_keeps_the_asked_layers_in_order():
    table = notebook.differences_table(_differences())
    assert list(table.index.names) == ["compared", "layer"]  # one task: no task level
    assert list(table.index.get_level_values("layer").astype(str)) == ["best", "12", "best", "12"]
    best = table.xs("best", level="layer")
    assert best.loc["CLIP eos − GPT-2 last_token", "difference"] == pytest.approx(0.4)
    assert best.loc["CLIP eos − GPT-2 last_token", "95 % interval"] == "[0.350, 0.450]"
    assert {"t", "p"} <= set(table.columns)
    words = notebook.differences_table(
        _differences("word_similarity", ("rg65", "simlex999")), layers=("best",)
    )
    assert list(words.index.names) == ["task", "compared", "layer"] and len(words) == 4
    no_tests = _differences().assign(t=np.nan, p=np.nan)
    assert (
        "t" not in notebook.differences_table(no_tests).columns
    )  # self-similarities: no Williams' t


def test_session_merges_intervals_by_series_and_layer():
    scores = synthetic_scores()
    intervals = scores[["result", "model", "variant", "task", "layer"]].assign(
        ci_low=scores["value"] - 0.01, ci_high=scores["value"] + 0.02
    )
    session = notebook.Session(Settings(models="stand-in"), {}, {})
    session.__dict__["uncertainty"] = (
        intervals.iloc[::-1],
        _differences(),
        pd.DataFrame(),
    )  # order must not matter
    merged = session.with_intervals(scores)
    assert len(merged) == len(scores)
    np.testing.assert_allclose(merged["ci_low"], scores["value"] - 0.01)
    np.testing.assert_allclose(merged["ci_high"], scores["value"] + 0.02)
    assert (
        set(session.differences("sts")["result"]) == {"sts"}
        and session.differences("cwe_self_similarity").empty
    )


def test_differences_figure_one_panel_per_task_with_best_layer_and_label():
    fig = plots.differences_figure(
        _differences("word_similarity", ("rg65", "simlex999", "valnorm")), "word_similarity", True
    )
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 3
    assert [t.get_text() for t in panels[0].get_xticklabels()][-1] == "best"
    assert len(panels[0].collections) >= 2  # a band per compared pair
    assert "STAND-IN" in fig._suptitle.get_text()
    plt.close(fig)
    fig = plots.differences_figure(
        _differences("cwe_self_similarity", ("sts_sentences",)).query("layer != 'best'"),
        "cwe_self_similarity",
        False,
    )
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][-1] == "12"
    assert "STAND-IN" not in fig._suptitle.get_text()
    plt.close(fig)


def test_models_table_names_full_commits_and_sha256():
    """Which weights produced the numbers: the full commit, the ref asked for where it is not
    the commit, the weights' sha256 (shortened on request) and the published one."""
    sha, published = "a" * 64, "b" * 64
    record = {
        "gpt2": {
            "hub_id": "gpt2",
            "source": "real",
            "revision": "6" * 40,
            "commit": "6" * 40,
            "weights_sha256": sha,
            "standin_seed": None,
        },
        "simcse_unsup": {
            "hub_id": "princeton-nlp/unsup-simcse-bert-base-uncased",
            "source": "real",
            "revision": "refs/pr/4",
            "commit": "8d6e532" + "0" * 33,
            "weights_sha256": sha,
            "published_sha256": published,
            "standin_seed": None,
        },
        "clip": {
            "hub_id": "openai/clip-vit-base-patch32",
            "source": "stand-in",
            "revision": None,
            "commit": None,
            "weights_sha256": sha,
            "standin_seed": 3,
        },
    }
    whole = notebook.models_table(record)
    assert (
        whole.loc["gpt2", "revision"] == "(the commit)" and whole.loc["gpt2", "commit"] == "6" * 40
    )
    row = whole.loc["princeton-nlp/unsup-simcse-bert-base-uncased"]
    assert (row["revision"], row["commit"], row["weights sha256"], row["published sha256"]) == (
        "refs/pr/4",
        "8d6e532" + "0" * 33,
        sha,
        published,
    )
    assert whole.loc["gpt2", "published sha256"] == "—"
    stand_in = whole.loc["openai/clip-vit-base-patch32"]
    assert (
        stand_in["weights"] == "stand-in, seed 3" and stand_in["commit"] == "(none: random weights)"
    )
    short = notebook.models_table(record, digits=16)
    assert (
        short.loc["gpt2", "weights sha256"] == "a" * 16 + "…"
        and short.loc["gpt2", "commit"] == "6" * 40
    )


def _wide_figure() -> plt.Figure:
    """A figure as wide as chapter 5's: two rows of three panels sharing y (the inner
    ones without y label and tick labels), a legend in each, small texts, long titles."""
    fig, axes = plt.subplots(2, 3, figsize=(12.3, 6.7), sharey=True)
    for i, ax in enumerate(axes.flat):
        ax.plot(range(13), np.arange(13) / 12, label="GPT-2 sentence self-sim. (mean_no_first)")
        ax.plot(range(13), np.arange(13) / (24 + i), marker="^", label="CLIP STS (eos)")
        ax.set_title(f"released STS reader, ranks as strings (as released), {i}", fontsize=8.5)
        ax.set_xticks(range(16), [*map(str, range(13)), "LN", "proj", "pool"])
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("alternative − ours", fontsize=8)
    axes[1, 0].set_ylabel("alternative − ours", fontsize=8)
    fig.suptitle("STAND-IN MODELS (random weights): these effects say nothing about the paper")
    return fig


def test_show_gives_a_figure_as_drawn_and_its_phone_layout(monkeypatch):
    """One output, as drawn (SVG and PNG; Jupyter shows it), with its natural width in
    CSS pixels (96 per inch) and smallest text, and the same figure re-flowed for a phone
    in the SVG's metadata: 336 px wide, no text under 11 pt (:mod:`cvsp.picture`)."""
    import IPython.display  # here: IPython comes with Jupyter, not with cvsp

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda data, **options: shown.append((data, options))
    )
    notebook.show(_wide_figure())
    ((data, options),) = shown
    assert data["image/svg+xml"].lstrip().startswith("<?xml") and data["image/png"]
    assert options["raw"] is True and set(options["metadata"]) == {"image/svg+xml"}
    facts = options["metadata"]["image/svg+xml"]
    assert (facts["width"], facts["smallest_pt"]) == (1181, 6.0)
    assert facts["phone"]["svg"].lstrip().startswith("<?xml")
    assert facts["phone"]["width"] == 336 and facts["phone"]["smallest_pt"] >= 11
    assert facts["phone"]["smallest_pt"] == phone.smallest_font(facts["phone"]["svg"])
    assert 'width="252pt"' in facts["phone"]["svg"]  # 3.5 inches: 336 CSS px


def _inside(box, outer, slack: float = 1.0) -> bool:
    return (
        box.x0 >= outer.x0 - slack
        and box.x1 <= outer.x1 + slack
        and box.y0 >= outer.y0 - slack
        and box.y1 <= outer.y1 + slack
    )


def _ink(label, renderer):
    """Where a tick label's characters are: a word moved to the second line ("\\nLN")
    fills only the lower half of its box."""
    box = label.get_window_extent(renderer)
    if label.get_text().startswith("\n"):
        box = Bbox.from_extents(box.x0, box.y0, box.x1, box.y0 + box.height / 2)
    return box


def test_reflow_stacks_the_same_panels_in_one_column_with_readable_text():
    fig = _wide_figure()
    lines = [line.get_ydata().copy() for ax in fig.axes for line in ax.get_lines()]
    phone.reflow(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = fig.axes
    boxes = [ax.get_position() for ax in panels]
    assert len(panels) == 6 and fig.get_figwidth() == phone.PHONE_WIDTH
    assert len({(round(b.x0, 3), round(b.x1, 3)) for b in boxes}) == 1  # one column
    assert all(above.y0 > below.y1 for above, below in zip(boxes, boxes[1:]))  # in order
    for box in boxes:
        assert box.height * fig.get_figheight() == pytest.approx(phone.PANEL_HEIGHT, rel=0.1)
    same = [line.get_ydata() for ax in panels for line in ax.get_lines()]
    assert all(np.array_equal(a, b) for a, b in zip(lines, same)) and len(same) == len(lines)
    for ax in panels:  # each panel readable alone: its y label and tick labels
        assert ax.get_ylabel() == "alternative − ours" and ax.get_legend() is None
        assert all(t.get_visible() and t.get_text() for t in ax.get_yticklabels())
        shown = [t for t in ax.get_xticklabels() if t.get_text()]  # thinned, words kept
        assert {"0", "12", "LN", "proj", "pool"} <= {t.get_text().strip() for t in shown}
        ticks = [_ink(t, renderer).padded(2, 0) for t in shown]
        assert not any(a.overlaps(b) for i, a in enumerate(ticks) for b in ticks[i + 1 :])
    (key,) = fig.legends
    assert [t.get_text().replace("\n", " ") for t in key.get_texts()] == [
        "GPT-2 sentence self-sim. (mean_no_first)",
        "CLIP STS (eos)",
    ]
    page = fig.bbox
    texts = [fig._suptitle, key, *(t for ax in panels for t in (ax.title, ax.xaxis.label))]
    for text in texts:  # wrapped where too long: nothing leaves the figure
        assert _inside(text.get_window_extent(renderer), page), text
    vector = io.StringIO()
    fig.savefig(vector, format="svg")
    assert phone.smallest_font(vector.getvalue()) >= phone.SMALLEST_PT
    plt.close(fig)


def test_a_chapter_loads_each_model_when_a_cell_first_uses_it(settings, tmp_path, capsys):
    session = notebook.start(
        "07_images_or_contrast", settings=settings.with_(standin_size="small", cache_dir=tmp_path)
    )
    printed = capsys.readouterr().out
    assert printed.startswith("cvsp preflight: chapter 7: no download (stand-ins)")
    assert list(session.models) == ["gpt2", "clip", "bert", "simcse_unsup", "simcse_sup"]
    assert session.models.loaded == ()  # the preflight line came before any model
    bert = session.embedders["bert"]
    assert bert.fingerprint.startswith("stand-in:bert:small:") and bert.blocks == 12
    assert session.models.loaded == ()  # an embedder names its model by its facts alone
    assert bert(["a dog runs"], ["cls"])["cls"].values.shape == (1, 13, 64)
    assert session.models.loaded == ("bert",)
    session.sentences  # noqa: B018 (CLIP's tokenizer cuts the sentences)
    assert session.models.loaded == ("bert", "clip")
    from cvsp.reproduce import beyond_the_pair

    assert not beyond_the_pair(session.models) and session.models.loaded == (
        "bert",
        "clip",
    )  # specs only


CHAPTER_ALONE = """
import sys
from cvsp import notebook
session = notebook.start("01_cwe_anisotropy")
session.models["gpt2"].model
print("loaded:", ",".join(session.models.loaded))
"""


def test_a_chapter_downloads_only_the_weights_its_cells_use(hub_repos, tmp_path):
    """Real weights from a hub replica: a chapter session whose cells have used GPT-2 alone
    has requested GPT-2's files and none of CLIP's (whose revision it checked first)."""
    import os
    import subprocess
    import sys

    from hub_replica import HubReplica

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HF_") and not k.endswith("_REVISION")
    }
    with HubReplica(hub_repos) as hub:
        env.update(
            HF_ENDPOINT=hub.url,
            HF_HOME=str(tmp_path / "hf"),
            CVSP_CACHE_DIR=str(tmp_path / "cvsp"),
            CVSP_MODELS="real",
            HF_HUB_DISABLE_TELEMETRY="1",
        )
        done = subprocess.run(
            [sys.executable, "-c", CHAPTER_ALONE],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        files = [r.path for r in hub.requests("/resolve/")]
        checked = [r.path for r in hub.requests("/api/models/")]
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "loaded: gpt2" in done.stdout
        and "cvsp preflight: chapter 1: download 1.2 GB" in done.stdout
    )
    assert "/gpt2/resolve/" in " ".join(files) and any(
        p.endswith("/model.safetensors") for p in files
    ), files
    assert not any("clip" in path for path in files), (
        files
    )  # not a file of CLIP's, weights or config
    assert any("clip" in path for path in checked)  # though its revision was checked up front
