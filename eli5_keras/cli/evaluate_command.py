"""``eli5-keras evaluate MODEL INPUT... --methods ... --metrics ...``: the metrics table.

Every input is read (as ``explain`` reads them: :mod:`.inputs`, :mod:`.models`), each
method explains them once and each metric scores the maps
(:func:`eli5_keras.evaluate`); the table of means and 95% intervals is written as text,
JSON (:meth:`eli5_keras.Evaluation.to_dict` with the inputs' names) or a self-contained
HTML page (:mod:`eli5_keras.formatters.evaluation_html`), to ``--out FILE`` or stdout.

Masks for the metrics that compare with ground truth (``--masks``): one ``.npy`` array
``(N, *S)`` for all the inputs in order, or a folder with one file per input named after
it (``NAME.png``: nonzero pixels are the object, resized to the input's size with the
nearest pixel; or ``NAME.npy`` ``(*S)``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import OutputError, UsageError, one_line, os_reason
from .explain_command import _num_classes, _single_input_shape, check_method, parse_layer, resolve_target
from .inputs import ARRAY_SUFFIX, Example, ExampleLoader, collect_files, plan_examples
from .models import load_model
from .outputs import atomic_open

EVALUATE_FORMATS = ("text", "json", "html")


def split_names(texts: Optional[Sequence[str]]) -> List[str]:
    """Names given comma or space separated, over one or more arguments, repeats dropped."""
    names = [name for text in texts or () for name in text.replace(",", " ").split()]
    return list(dict.fromkeys(names))


def parse_metric_options(texts: Optional[Sequence[str]], metrics: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    """``--metric-option METRIC.KEY=VALUE`` (repeated) -> ``{metric: {key: value}}``; the
    value read as JSON (``20``, ``0.5``, ``"blur"``, ``[4, 4]``), else as a string."""
    options: Dict[str, Dict[str, Any]] = {}
    for text in texts or ():
        name, dot, rest = text.partition(".")
        key, equals, value = rest.partition("=")
        if not dot or not equals or not name or not key:
            raise UsageError(f"--metric-option must be METRIC.KEY=VALUE (e.g. deletion.steps=20); got {text!r}.")
        if name not in metrics:
            raise UsageError(f"--metric-option {text!r} names metric {name!r}, which is not among --metrics {list(metrics)}.")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        options.setdefault(name, {})[key] = parsed
    return options


def check_metric_names(names: Sequence[str]) -> List[str]:
    """The metric names, or a usage error listing the known ones."""
    from ..evaluation import metric_names

    if not names:
        raise UsageError(f"--metrics must name at least one metric of {', '.join(metric_names())}.")
    unknown = [name for name in names if name not in metric_names()]
    if unknown:
        raise UsageError(f"unknown metric {unknown[0]!r}; known: {', '.join(metric_names())}.")
    return list(names)


def writable_file(out: Optional[str]) -> Optional[Path]:
    """``--out FILE``: its folder created; a usage error, before any work, when it cannot
    be written (a folder, a path through a file, a read-only place). None: stdout."""
    if out is None:
        return None
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"--out {out!r} is a folder; name the file to write.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".eli5-keras-probe-", dir=path.parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"cannot write to --out {out!r}: {os_reason(error)}.") from None
    return path


def read_masks(spec: Optional[str], examples: Sequence[Example], spatial: Tuple[int, ...]) -> Optional[np.ndarray]:
    """``--masks``: bool ``(N, *S)`` for the ``examples`` in order, or None.

    Raises
    ------
    UsageError
        The path does not exist, a mask is missing, unreadable or of another spatial
        shape than its input, or an array holds another number of masks.
    """
    if spec is None:
        return None
    path = Path(spec)
    if path.is_file():
        masks = _read_array(path)
        if masks.shape != (len(examples),) + spatial:
            raise UsageError(
                f"--masks {spec!r} has shape {masks.shape}; expected one mask per input, "
                f"{(len(examples),) + spatial} ({len(examples)} inputs of spatial shape {spatial})."
            )
        return masks != 0
    if not path.is_dir():
        raise UsageError(f"--masks {spec!r} does not exist.")
    return np.stack([_mask_of(path, example, spatial) for example in examples])


def _read_array(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read mask {str(path)!r}: {one_line(error)}") from None
    if array.dtype.kind not in "biuf":
        raise UsageError(f"mask {str(path)!r} holds {array.dtype} values, not numbers.")
    return array


def _mask_of(folder: Path, example: Example, spatial: Tuple[int, ...]) -> np.ndarray:
    """The mask file of one input in ``folder``: ``NAME.npy`` or ``NAME.png``."""
    array_file, image_file = folder / f"{example.name}{ARRAY_SUFFIX}", folder / f"{example.name}.png"
    if array_file.is_file():
        mask = _read_array(array_file)
    elif image_file.is_file():
        if len(spatial) != 2:
            raise UsageError(f"mask {str(image_file)!r} is an image, but the inputs have spatial shape {spatial}.")
        try:
            with Image.open(image_file) as opened:
                image = opened.convert("L")
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise UsageError(f"cannot read mask {str(image_file)!r}: {one_line(error)}") from None
        if image.size != (spatial[1], spatial[0]):
            image = image.resize((spatial[1], spatial[0]), Image.NEAREST)
        mask = np.asarray(image)
    else:
        raise UsageError(f"no mask for input {example.name!r} in --masks {str(folder)!r} "
                         f"(expected {example.name}.png or {example.name}.npy).")
    if mask.shape != spatial:
        raise UsageError(f"mask of input {example.name!r} has shape {mask.shape}; the input's spatial shape is {spatial}.")
    return mask != 0


def _render(evaluation: Any, form: str, names: List[str], model_name: str) -> str:
    if form == "text":
        return evaluation.table() + "\n"
    if form == "json":
        return json.dumps(dict(model=model_name, inputs=names, **evaluation.to_dict()), indent=2) + "\n"
    from ..formatters.evaluation_html import evaluation_page

    return evaluation_page(evaluation, title=f"Evaluation of {model_name}", model_name=model_name, inputs=names)


def run_evaluate(args: argparse.Namespace) -> int:
    """Entry point of the ``evaluate`` subcommand; returns the exit status."""
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1; got {args.batch_size}.")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1; got {args.top_k}.")
    methods = [check_method(name) for name in split_names(args.methods)]
    if not methods:
        raise UsageError("--methods must name at least one method (see `eli5-keras methods`).")
    metrics = check_metric_names(split_names(args.metrics))
    options = parse_metric_options(args.metric_option, metrics)
    files = collect_files(args.inputs)
    loaded = load_model(args.model, args.weights, args.rescale)
    input_shape = _single_input_shape(loaded.model)
    num_classes = _num_classes(loaded.model)
    target = resolve_target(args.target, loaded.class_names, num_classes)
    if args.top_k is not None and num_classes is not None and args.top_k > num_classes:
        raise UsageError(f"--top-k {args.top_k} exceeds the model's {num_classes} classes.")
    examples = plan_examples(files, input_shape)
    loader = ExampleLoader(input_shape, loaded.preprocess)
    arrays = [loader.load(example)[0] for example in examples]
    if len({a.shape for a in arrays}) > 1:
        raise UsageError("the inputs have different shapes; evaluate scores one batch: pass inputs of one size.")
    x = np.stack(arrays)
    masks = read_masks(args.masks, examples, tuple(x.shape[1:-1]))
    out = writable_file(args.out)  # last, so a mistake above leaves no file behind

    import eli5_keras

    try:
        with warnings.catch_warnings():  # an empty map scores as the metric defines; said in the table (n=...)
            warnings.simplefilter("ignore", eli5_keras.EmptyMapWarning)
            evaluation = eli5_keras.evaluate(
                loaded.model, x, methods, metrics, targets=target, masks=masks, batch_size=args.batch_size,
                metric_options=options or None, top_k=args.top_k, layer=parse_layer(args.layer),
            )
    except (ValueError, TypeError) as error:
        raise UsageError(one_line(error) + loaded.note) from None
    text = _render(evaluation, args.format, [e.name for e in examples], loaded.model.name)
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        with atomic_open(out) as handle:
            handle.write(text.encode("utf-8"))
    except OSError as error:
        raise OutputError(f"cannot write {str(out)!r}: {os_reason(error)}.") from None
    if not args.quiet:
        print(f"eli5-keras: evaluated {len(examples)} inputs with {len(methods)} method(s) and "
              f"{len(metrics)} metric(s) into {str(out)!r}.", file=sys.stderr)
    return 0
