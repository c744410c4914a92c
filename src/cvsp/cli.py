"""The ``cvsp`` command line: ``cvsp reproduce`` recomputes every result of the paper,
``cvsp models`` lists the registry.

Its help and choices come from :mod:`cvsp.registry` and :mod:`cvsp.settings`, which
import no model library: ``cvsp --help`` and ``cvsp models`` answer without loading
torch, which only ``cvsp reproduce`` needs (:func:`_reproduce` imports it after real
models' revisions are checked, so that a refused revision is said at once).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
import time
from pathlib import Path

from cvsp import __version__
from cvsp.registry import (
    FAMILIES,
    MODEL_SETS,
    MODELS,
    ModelUnavailableError,
    resolve_models,
    revision_variable,
)
from cvsp.settings import DEVICES, MODEL_SOURCES, Settings, SettingsError, settings_help

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
        choices=MODEL_SOURCES,
        default=None,
        help=(
            "real: pretrained weights from the Hugging Face hub (needs internet once); "
            "stand-in: same architectures with seeded RANDOM weights, for testing the "
            "pipeline offline (numbers mean nothing). Default: $CVSP_MODELS or real."
        ),
    )
    reproduce.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder; replaced as a whole only when the run has finished",
    )
    reproduce.add_argument(
        "--device",
        choices=DEVICES,
        default=None,
        help="where the models run: auto picks cuda, then mps, then cpu (default: auto)",
    )
    reproduce.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the random token drawn per sentence for CWEs (default: 0)",
    )
    reproduce.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        metavar="N",
        help="bootstrap replicates of every 95 %% interval, at least 100 (default: 2000, or CVSP_BOOTSTRAP)",
    )
    reproduce.add_argument(
        "--model-set",
        choices=tuple(MODEL_SETS),
        default="paper",
        help="which models run: "
        + "; ".join(
            f"{name} = {', '.join(MODELS[key].label for key in keys)}"
            for name, keys in MODEL_SETS.items()
        )
        + " (default: paper; contrast is the chapter 'Images or contrast?' and also writes OUT/contrasts.csv; "
        "beyond is the chapter 'Beyond one CLIP' and also writes OUT/verdicts.csv and OUT/depth_differences.csv)",
    )
    reproduce.add_argument(
        "--add-model",
        action="append",
        default=[],
        metavar="FAMILY:HUB_ID@REVISION",
        help=f"also run this hub model of a supported family ({', '.join(FAMILIES)}), at the revision you "
        "pin, e.g. bert:roberta-base@<commit>; may be repeated",
    )
    reproduce.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    commands.add_parser(
        "models",
        help="list the model registry: keys, hub ids, families, pinned commits",
        description="The models cvsp knows by key, with the commit each loads by default.",
    )
    preflight = commands.add_parser(
        "preflight",
        help="say what a run will download, store and take, and refuse if the disk is short",
        description=(
            "Before a run: the weights it will download (from the registry's sizes, less what the "
            "Hugging Face cache holds), the disk it needs at its peak and the time it takes (from the "
            "benchmark's measured figures, scaled to this machine's cores: an estimate), and the free "
            "disk where the caches live. Exit 1, before any request to the hub, when the disk is short."
        ),
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preflight.add_argument(
        "target",
        nargs="?",
        default="book",
        metavar="TARGET",
        help="book (default), reproduce, or a chapter by number (1-8) or name (e.g. 08_beyond_one_clip)",
    )
    preflight.add_argument(
        "--models",
        choices=MODEL_SOURCES,
        default=None,
        help="real or stand-in (default: $CVSP_MODELS or real)",
    )
    preflight.add_argument(
        "--model-set",
        choices=tuple(MODEL_SETS),
        default="paper",
        help="with reproduce: the models it runs (default: paper)",
    )
    preflight.add_argument(
        "--force", action="store_true", help="exit 0 even when the disk is short"
    )
    cache = commands.add_parser(
        "cache",
        help="say how much the cvsp cache holds and where; --clear empties it",
        description="The cvsp cache (CVSP_CACHE_DIR): its folders and their sizes.",
    )
    cache.add_argument(
        "--clear", action="store_true", help="remove the cache folder and everything in it"
    )
    return parser


def _models() -> int:
    print("key           family  hub id                                          pinned revision")
    for spec in MODELS.values():
        pinned = spec.pin_text() if spec.revision else "none: set " + revision_variable(spec.key)
        print(f"{spec.key:<13} {spec.family:<7} {spec.hub_id:<47} {pinned}")
        if spec.note:
            print(
                textwrap.fill(
                    ("" if spec.verified else "unverified: ") + spec.note,
                    width=100,
                    initial_indent=" " * 22,
                    subsequent_indent=" " * 22,
                )
            )
    print("\nfamilies: " + "; ".join(f"{f.name} ({f.description})" for f in FAMILIES.values()))
    print(
        "model sets: "
        + "; ".join(f"{name} = {', '.join(keys)}" for name, keys in MODEL_SETS.items())
    )
    return 0


def _preflight(args: argparse.Namespace) -> int:
    from cvsp import costs  # here: huggingface_hub, which `cvsp --help` does without

    try:
        settings = Settings.from_env()
        if args.models:
            settings = settings.with_(models=args.models)
        bench = costs.Benchmark.load()
        cost = costs.estimate(costs.chapter(args.target), settings, bench, args.model_set)
        print(costs.report(cost, settings, bench, args.model_set))
        short = costs.shortfall(cost, settings)
    except (SettingsError, costs.CostError) as error:
        print(f"cvsp: error: {error}", file=sys.stderr)
        return 2
    if short and not args.force:
        print(f"cvsp preflight: {short}", file=sys.stderr)
        return 1
    if short:
        print(f"cvsp preflight: going on anyway (--force): {short}", file=sys.stderr)
    return 0


def _cache(args: argparse.Namespace) -> int:
    from cvsp import costs  # here: huggingface_hub, which `cvsp --help` does without

    settings = Settings.from_env()
    print(costs.cache_report(settings))
    if args.clear and settings.cache_dir.is_dir():
        total = sum(costs.cache_sizes(settings).values())
        shutil.rmtree(settings.cache_dir)
        print(f"Removed {settings.cache_dir} ({costs.size_text(total)}).")
    return 0


def _checked_revisions(settings: Settings, args: argparse.Namespace) -> dict | None:
    """Real models: every revision resolved and checked on the hub (or its cache), which
    needs no model library, so that a refusal comes before torch is imported."""
    if settings.is_stand_in:
        return None
    from cvsp.hub import resolve_all  # huggingface_hub, no model library

    return resolve_all(resolve_models(MODEL_SETS[args.model_set], tuple(args.add_model)), settings)


def _reproduce(args: argparse.Namespace) -> int:
    # the errors a reproduction says in one sentence; here, not at the top, since their
    # modules load pandas and scipy, which `cvsp --help` and `cvsp models` do without
    from cvsp.data import DataError
    from cvsp.metrics import MetricError
    from cvsp.tokens import EmbeddingError

    try:
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
        resolved = _checked_revisions(settings, args)
        # imported here, not at the top: torch, transformers, scipy and pandas, which only
        # a reproduction needs (``cvsp --help``, ``cvsp models`` and a refusal answer without)
        from cvsp import reproduce

        result = reproduce.run(
            settings,
            seed=args.seed,
            progress=not args.no_progress,
            model_set=args.model_set,
            extra_models=tuple(args.add_model),
            resolved=resolved,
        )
        reproduce.write(result, args.out)
    except (DataError, ModelUnavailableError, SettingsError, EmbeddingError, MetricError) as error:
        print(f"cvsp: error: {error}", file=sys.stderr)
        return 1
    print(reproduce.summary(result))
    limit = result.provenance["clip_context_limit"]
    print(
        f"\nCLIP's {limit['tokens']}-token limit excluded {limit['excluded_sentences']} "
        f"sentence(s) and {limit['excluded_sts_pairs']} STS pair(s) for both models."
    )
    print(f"Wrote {args.out}/ in {time.perf_counter() - started:.0f} s.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        command = {"models": lambda _: _models(), "preflight": _preflight, "cache": _cache}.get(
            args.command, _reproduce
        )
        return command(args)
    except KeyboardInterrupt:
        print("cvsp: interrupted; nothing was written to the output folder.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
