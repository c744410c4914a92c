"""The command line explains itself."""

from __future__ import annotations

import pytest

from cvsp.cli import build_parser, main


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = capsys.readouterr().out
    for option in ("--models", "--out", "--device", "--seed", "stand-in", "CVSP_DATA_DIR"):
        assert option in text


def test_models_choice_is_checked():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--models", "fake", "--out", "x"])
