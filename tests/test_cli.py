"""The command line explains itself."""

from __future__ import annotations

import pytest

from cvsp.cli import build_parser, main


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--models",
        "--out",
        "--device",
        "--seed",
        "--bootstrap",
        "stand-in",
        "CVSP_DATA_DIR",
    ):
        assert option in text


def test_models_choice_is_checked():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--models", "fake", "--out", "x"])


@pytest.mark.parametrize("value", ["50", "many", "-1"])
def test_too_few_or_unreadable_bootstrap_replicates_fail_in_one_sentence(
    value, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("CVSP_BOOTSTRAP", value)
    assert main(["reproduce", "--models", "stand-in", "--out", str(tmp_path / "out")]) != 0
    message = capsys.readouterr().err.strip()
    assert (
        "(CVSP_BOOTSTRAP or --bootstrap) must be an integer of at least 100" in message
        and message.count("\n") == 0
    )
    assert not (tmp_path / "out").exists()


def test_bootstrap_option_overrides_the_variable(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("CVSP_BOOTSTRAP", "5000")
    assert (
        main(
            [
                "reproduce",
                "--models",
                "stand-in",
                "--bootstrap",
                "10",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        != 0
    )
    assert "not 10" in capsys.readouterr().err  # the option's value is the one checked


def test_models_command_lists_the_registry(capsys):
    from cvsp.registry import MODELS

    assert main(["models"]) == 0
    text = capsys.readouterr().out
    for spec in MODELS.values():
        assert (
            spec.hub_id in text and (spec.revision or f"CVSP_{spec.key.upper()}_REVISION") in text
        )
    assert "refs/pr/3 (commit d9aa2ff…)" in text and "refs/pr/4 (commit 8d6e532…)" in text
    assert (
        "safetensors conversion" in text
        and "contrast = gpt2, clip, bert, simcse_unsup, simcse_sup" in text
    )


@pytest.mark.parametrize(
    "model, expected",
    [
        ("roberta:roberta-base@main", "Unknown model family 'roberta'"),
        ("bert:roberta-base", "Name the revision"),
    ],
)
def test_a_bad_added_model_fails_in_one_sentence(model, expected, capsys, tmp_path):
    assert (
        main(
            [
                "reproduce",
                "--models",
                "stand-in",
                "--add-model",
                model,
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 1
    )
    message = capsys.readouterr().err.strip()
    assert expected in message and message.count("\n") == 0
    assert not (tmp_path / "out").exists()


def test_model_set_choice_is_checked():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--model-set", "everything", "--out", "x"])
