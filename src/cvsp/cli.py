"""The ``cvsp`` command line: ``cvsp reproduce`` recomputes every result of the paper."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from cvsp import __version__
from cvsp.settings import settings_help

ENVIRONMENT_HELP = settings_help()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cvsp",
        description=(
            "Reproduce Wolfe & Caliskan (ACL 2022), 'Contrastive Visual Semantic "
            "Pretraining Magnifies the Semantics of Natural Language Representations', "
            "layer by layer with GPT-2 and CLIP's text encoder."
        ),
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cvsp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    reproduce = commands.add_parser(
        "reproduce",
        help="compute all four results for both models and write scores, comparison, figures",
        description=(
            "Compute CWE self-similarity, word-level semantics (RG65, WordSim-353, "
            "SimLex-999, SimVerb-3500, ValNorm), STS Benchmark and sentence "
            "self-similarity for GPT-2 and CLIP in every layer, and write "
            "OUT/scores.csv, OUT/comparison.csv, OUT/differences.csv (paired CLIP - GPT-2), "
            "OUT/figures/*.png and OUT/provenance.json."
        ),
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reproduce.add_argument(
        "--models",
        choices=("real", "stand-in"),
        default=None,
        help=(
            "real: pretrained weights from the Hugging Face hub (needs internet once); "
            "stand-in: same architectures with seeded RANDOM weights, for testing the "
            "pipeline offline (numbers mean nothing). Default: $CVSP_MODELS or real."
        ),
    )
    reproduce.add_argument(
        "--out", type=Path, required=True, metavar="DIR",
        help="output folder; replaced as a whole only when the run has finished",
    )  # fmt: skip
    reproduce.add_argument(
        "--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
        help="where the models run: auto picks cuda, then mps, then cpu (default: auto)",
    )  # fmt: skip
    reproduce.add_argument(
        "--seed", type=int, default=0,
        help="seed of the random token drawn per sentence for CWEs (default: 0)",
    )  # fmt: skip
    reproduce.add_argument(
        "--bootstrap", type=int, default=None, metavar="N",
        help="bootstrap replicates of every 95 %% interval, at least 100 (default: 2000, or CVSP_BOOTSTRAP)",
    )  # fmt: skip
    reproduce.add_argument(
        "--model-set", choices=("paper", "contrast"), default="paper",
        help="paper: GPT-2 and CLIP (default); contrast: also BERT and its two SimCSE fine-tunes "
             "(chapter 'Images or contrast?'), with their paired differences in OUT/contrasts.csv",
    )  # fmt: skip
    reproduce.add_argument(
        "--add-model", action="append", default=[], metavar="FAMILY:HUB_ID@REVISION",
        help="also run this hub model of a supported family (gpt2, clip, bert), at the revision you "
             "pin, e.g. bert:roberta-base@<commit>; may be repeated",
    )  # fmt: skip
    reproduce.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars"
    )
    commands.add_parser(
        "models", help="list the model registry: keys, hub ids, families, pinned commits",
        description="The models cvsp knows by key, with the commit each loads by default.",
    )
    return parser


def _models() -> int:
    from cvsp.models import FAMILIES, MODEL_SETS, MODELS
    from cvsp.settings import revision_variable

    print("key           family  hub id                                          pinned revision")
    for spec in MODELS.values():
        pinned = spec.pin_text() if spec.revision else "none: set " + revision_variable(spec.key)
        print(f"{spec.key:<13} {spec.family:<7} {spec.hub_id:<47} {pinned}")
        if spec.note:
            print(textwrap.fill(("" if spec.verified else "unverified: ") + spec.note, width=100,
                                initial_indent=" " * 22, subsequent_indent=" " * 22))  # fmt: skip
    print("\nfamilies: " + "; ".join(f"{f.name} ({f.description})" for f in FAMILIES.values()))
    print("model sets: " + "; ".join(f"{name} = {', '.join(keys)}" for name, keys in MODEL_SETS.items()))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from cvsp import reproduce
    from cvsp.settings import Settings

    settings = Settings.from_env()
    changes = {}
    if args.models:
        changes["models"] = args.models
    if args.device:
        changes["device"] = args.device
    if args.bootstrap is not None:
        changes["bootstrap"] = args.bootstrap
    settings = settings.with_(**changes)
    started = time.perf_counter()
    result = reproduce.run(
        settings, seed=args.seed, progress=not args.no_progress,
        model_set=args.model_set, extra_models=tuple(args.add_model),
    )  # fmt: skip
    reproduce.write(result, args.out)
    print(reproduce.summary(result))
    limit = result.provenance["clip_context_limit"]
    print(
        f"\nCLIP's {limit['tokens']}-token limit excluded {limit['excluded_sentences']} "
        f"sentence(s) and {limit['excluded_sts_pairs']} STS pair(s) for both models."
    )
    print(f"Wrote {args.out}/ in {time.perf_counter() - started:.0f} s.")
    return 0


def main(argv: list[str] | None = None) -> int:
    from cvsp.data import DataError
    from cvsp.embeddings import EmbeddingError
    from cvsp.metrics import MetricError
    from cvsp.models import ModelUnavailableError
    from cvsp.settings import SettingsError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _models() if args.command == "models" else _reproduce(args)
    except (DataError, ModelUnavailableError, SettingsError, EmbeddingError, MetricError) as error:
        print(f"cvsp: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cvsp: interrupted; nothing was written to the output folder.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
