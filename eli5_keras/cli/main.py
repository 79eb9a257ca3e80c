"""The ``eli5-keras`` command: ``demo``, ``explain``, ``evaluate`` and ``methods``.

Exit status: 0 done; 1 the demo ran but a method failed, or an output could not be
written once the run had started (finished outputs kept); 2 a usage or input error (an
``--out`` that cannot be written included, found before any work); errors are reported
on one line as ``eli5-keras: error: ...`` (never a traceback); 130 interrupted.
"""
from __future__ import annotations

import argparse
import logging
import sys
from fractions import Fraction
from typing import List, NoReturn, Optional

from .errors import OutputError, UsageError, one_line
from .outputs import FORMATS

PROG = "eli5-keras"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors on one line (usage stays in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def _rescale(text: str) -> float:
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"invalid factor {text!r}; e.g. 1/255 or 1") from None


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Explain why a Keras model made a prediction: heat maps, overlays, HTML.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="explain generated scenes with every method and score them against the true object masks",
        description="Explain a batch of generated scenes (one shape each, over texture and distractors) "
        "with the shipped demo model and every available method; write overlays and index.html with each "
        "method's pointing-game accuracy and time per image. No data, no training, no network.",
    )
    demo.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    demo.add_argument(
        "--methods", nargs="+", action="extend", metavar="M",
        help="methods to run, comma or space separated (default: all available)",
    )
    demo.add_argument("--images", type=int, default=16, metavar="N", help="scenes to explain (default: 16)")
    demo.add_argument("--seed", type=int, default=2024, help="seed of the scenes (default: 2024)")
    demo.add_argument("--batch-size", type=int, default=32, metavar="B", help="inputs per batch (default: 32)")
    demo.add_argument("--quiet", action="store_true", help="print nothing but errors")
    demo.set_defaults(run=_run_demo)

    explain = commands.add_parser(
        "explain",
        help="explain a model's predictions on image files or .npy arrays",
        description="Explain MODEL's predictions on each INPUT and write one output per input.",
    )
    _add_model_arguments(explain)
    explain.add_argument(
        "--method", default="gradcam", help="explanation method (default: gradcam; see `eli5-keras methods`)"
    )
    targets = explain.add_mutually_exclusive_group()
    targets.add_argument(
        "--target", metavar="T", help="class to explain: index or class name (default: each input's top class)"
    )
    targets.add_argument("--top-k", type=int, metavar="K", help="explain each input's K best classes")
    explain.add_argument(
        "--layer", metavar="L", help="layer name, 'outer/inner' path or index (default: last spatial layer)"
    )
    explain.add_argument("--batch-size", type=int, default=32, metavar="B", help="inputs per batch (default: 32)")
    explain.add_argument(
        "--out", default="eli5-out", metavar="DIR",
        help="output folder (default: eli5-out); a path ending in .zarr writes one Zarr store of all the maps",
    )
    explain.add_argument(
        "--format", choices=FORMATS,
        help="png overlays, html pages, npy maps, or nii maps over NIfTI inputs with their affine "
        "(default: png for image models, npy otherwise)",
    )
    explain.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local: this process (default); ray: a Ray actor pool (pip install 'eli5-keras[ray]'), "
        "--out a .zarr store or a .parquet folder",
    )
    explain.add_argument(
        "--address", metavar="ADDRESS",
        help="--engine ray: the Ray cluster to join ('auto', or host:port of its head); default: start one here",
    )
    explain.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="--engine ray: actors in the pool, one model each (default: 1)",
    )
    explain.add_argument(
        "--gpus-per-worker", type=float, default=0, metavar="G", help="--engine ray: GPUs of each actor (default: 0)"
    )
    explain.add_argument(
        "--chunk-size", type=int, default=None, metavar="R",
        help="--out NAME.zarr: inputs per chunk of the store, a multiple of --batch-size (default: as many batches as "
             "keep a chunk of maps within 4 MiB)",
    )
    explain.add_argument("--resume", action="store_true", help="skip inputs whose outputs all exist (a .zarr store: its finished batches)")
    explain.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    explain.set_defaults(run=_run_explain)

    _add_evaluate(commands)

    methods = commands.add_parser(
        "methods", help="list the explanation methods", description="List the explanation methods."
    )
    methods.set_defaults(run=_run_methods)
    return parser


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, INPUT..., --weights and --rescale: read as ``explain`` reads them."""
    parser.add_argument(
        "model", metavar="MODEL",
        help="a .keras/.h5 file, a SavedModel folder, 'demo', or a keras.applications name "
        "(resnet50, mobilenet_v2, ...)",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="PNG/JPEG images (resized to the model's input), folders of them, .npy arrays "
        "(one example, or a batch with the batch axis first), or NIfTI volumes (.nii, .nii.gz)",
    )
    parser.add_argument(
        "--weights", metavar="W",
        help="keras.applications only: 'imagenet' (downloads once), 'none' (random) or a weights file",
    )
    parser.add_argument(
        "--rescale", type=_rescale, default=1 / 255, metavar="F",
        help="factor on image pixels for model files (default: 1/255; 1 if the model rescales itself)",
    )


def _add_evaluate(commands) -> None:
    from .evaluate_command import EVALUATE_FORMATS

    evaluate = commands.add_parser(
        "evaluate",
        help="score explanation methods with evaluation metrics (deletion, insertion, pointing game, ...)",
        description="Explain every INPUT with each method and score the maps with each metric; write the "
        "table of means and 95% intervals (text, JSON or HTML) to --out or stdout.",
    )
    _add_model_arguments(evaluate)
    evaluate.add_argument("--methods", nargs="+", action="extend", metavar="M", required=True,
                          help="methods to score, comma or space separated (see `eli5-keras methods`)")
    evaluate.add_argument("--metrics", nargs="+", action="extend", metavar="K", default=None,
                          help="metrics, comma or space separated (default: deletion insertion; "
                          "pointing_game, energy_pointing_game, relevance_mass_accuracy, "
                          "relevance_rank_accuracy need --masks)")
    evaluate.add_argument("--metric-option", action="append", metavar="METRIC.KEY=VALUE",
                          help="an option of one metric, e.g. deletion.steps=20 (repeatable; VALUE read as JSON)")
    evaluate.add_argument("--masks", metavar="PATH",
                          help="ground truth: a .npy array (N, *S) for the inputs in order, or a folder with "
                          "NAME.png / NAME.npy per input (nonzero on the object)")
    targets = evaluate.add_mutually_exclusive_group()
    targets.add_argument(
        "--target", metavar="T", help="class to explain: index or class name (default: each input's top class)"
    )
    targets.add_argument("--top-k", type=int, metavar="K", help="explain and score each input's K best classes")
    evaluate.add_argument(
        "--layer", metavar="L", help="layer name, 'outer/inner' path or index (default: last spatial layer)"
    )
    evaluate.add_argument("--batch-size", type=int, default=32, metavar="B",
                          help="work in flight: inputs per batch, perturbed copies per metric batch (default: 32)")
    evaluate.add_argument("--format", choices=EVALUATE_FORMATS, default="text",
                          help="text table, JSON (every score) or a self-contained HTML page (default: text)")
    evaluate.add_argument("--out", metavar="FILE", help="file to write (default: stdout)")
    evaluate.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    evaluate.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from .evaluate_command import run_evaluate

    if args.metrics is None:
        args.metrics = ["deletion", "insertion"]
    return run_evaluate(args)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo_command import run_demo

    names = [name for text in args.methods or () for name in text.replace(",", " ").split()]
    return run_demo(args.out, methods=names, images=args.images, seed=args.seed,
                    batch_size=args.batch_size, quiet=args.quiet)


def _run_explain(args: argparse.Namespace) -> int:
    from .explain_command import run_explain

    return run_explain(args)


def _run_methods(args: argparse.Namespace) -> int:
    from .. import methods

    summaries = methods.describe()
    width = max(map(len, summaries), default=0)
    for name, summary in summaries.items():
        print(f"{name:<{width}}  {summary}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    # TensorFlow's Python-side warnings (e.g. about retracing) are not actionable here and
    # would bury the command's own messages.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
        return 2
    except OutputError as error:
        print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
