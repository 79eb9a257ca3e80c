"""``eli5-keras explain MODEL INPUT...``: explain many inputs, streaming, resumable.

Inputs are read ``--batch-size`` at a time, explained in one batched call and written
as soon as they are explained, one output set per input. An interrupted run keeps every
finished output; ``--resume`` skips the inputs whose outputs all exist.

An ``--out`` ending in ``.zarr`` writes one Zarr store instead
(:func:`eli5_keras.explain_dataset`): batch by batch, ``--resume`` skipping the batches
it holds.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..result import EMPTY_MAP_HINT
from .errors import OutputError, UsageError, one_line, os_reason
from .inputs import Example, ExampleLoader, collect_files, is_image_input, is_nifti, plan_examples
from .interrupt import StopRequest
from .models import LoadedModel, load_model
from .outputs import OutputFormat, get_format, writable_folder
from .progress import Progress


def parse_layer(text: Optional[str]) -> Any:
    """``--layer``: an integer index (``-1``) or a name / ``"outer/inner"`` path."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def check_method(name: str) -> str:
    """The canonical method name, or a usage error listing the available ones."""
    from .. import methods

    try:
        return methods.get(name).name
    except ValueError as error:
        raise UsageError(one_line(error)) from None


def resolve_target(
    text: Optional[str], class_names: Optional[Sequence[str]], num_classes: Optional[int]
) -> Optional[int]:
    """``--target``: a class index, or a class name when the model's names are known."""
    if text is None:
        return None
    lowered = [name.lower() for name in class_names or ()]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    try:
        index = int(text)
    except ValueError:
        known = f"; classes include {', '.join(list(class_names)[:8])}" if class_names else ""
        raise UsageError(f"--target {text!r} is not a class index or a known class name{known}.") from None
    if num_classes is not None and not 0 <= index < num_classes:
        raise UsageError(
            f"--target {index} is out of range: the model has {num_classes} classes (0 to {num_classes - 1})."
        )
    return index


def _single_input_shape(model: Any) -> Tuple:
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise UsageError(
            f"model {model.name!r} has {len(inputs)} inputs; the command line explains single-input models: each "
            "input file is one example of one input (from Python, eli5_keras.explain_dataset takes a list of "
            "arrays and eli5_keras.ray.explain_dataset one column per input)."
        )
    return tuple(inputs[0].shape)


def _num_classes(model: Any) -> Optional[int]:
    outputs = getattr(model, "outputs", None) or []
    shape = tuple(outputs[0].shape) if outputs else ()
    return shape[-1] if len(shape) == 2 else None


def _output_format(requested: Optional[str], input_shape: Tuple) -> OutputFormat:
    image_like = is_image_input(input_shape)
    if requested is None:
        return get_format("png" if image_like else "npy")
    if requested in ("png", "html") and not image_like:
        raise UsageError(
            f"--format {requested} draws maps over 2-D images, but the model's input has shape "
            f"{input_shape}; use --format npy for volumes and signals."
        )
    return get_format(requested)


def is_store(out: str) -> bool:
    """``--out`` names a Zarr store (``maps.zarr``) rather than a folder of files."""
    return out.rstrip("/\\").lower().endswith(".zarr")


def is_parquet(out: str) -> bool:
    """``--out`` names a folder of Parquet files (``maps.parquet``, ``--engine ray``)."""
    return out.rstrip("/\\").lower().endswith(".parquet")


def check_engine(args: argparse.Namespace) -> None:
    """``--engine`` and the options that go with it."""
    if args.chunk_size is not None and (args.engine == "ray" or not is_store(args.out)):
        raise UsageError("--chunk-size sets the chunks of a .zarr store written by this process (--out NAME.zarr, "
                         "without --engine ray); leave it out.")
    if args.engine != "ray":
        for flag, value, default in (("--address", args.address, None), ("--workers", args.workers, 1),
                                     ("--gpus-per-worker", args.gpus_per_worker, 0)):
            if value != default:
                raise UsageError(f"{flag} sets up --engine ray; add --engine ray, or leave out {flag}.")
        if is_parquet(args.out):
            raise UsageError(f"--out {args.out!r}: Parquet output is written by --engine ray; add it, or end --out "
                             "in .zarr.")
        return
    if not (is_store(args.out) or is_parquet(args.out)):
        raise UsageError(f"--engine ray writes one store: --out must end in .zarr (or .parquet); got {args.out!r}.")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}.")
    if args.gpus_per_worker < 0:
        raise UsageError(f"--gpus-per-worker must be at least 0; got {args.gpus_per_worker}.")


def _batches(examples: Sequence[Example], size: int) -> List[Sequence[Example]]:
    return [examples[start:start + size] for start in range(0, len(examples), size)]


class ExplainRun:
    """One ``explain`` command: everything checked up front, then a streamed loop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        files = collect_files(args.inputs)
        self.method = check_method(args.method)
        self.layer = parse_layer(args.layer)
        self.loaded: LoadedModel = load_model(args.model, args.weights, args.rescale)
        model = self.loaded.model
        input_shape = _single_input_shape(model)
        num_classes = _num_classes(model)
        self.target = resolve_target(args.target, self.loaded.class_names, num_classes)
        if args.top_k is not None and num_classes is not None and args.top_k > num_classes:
            raise UsageError(f"--top-k {args.top_k} exceeds the model's {num_classes} classes.")
        check_engine(args)
        self.store = is_store(args.out) or is_parquet(args.out)
        if self.store and args.format is not None:
            raise UsageError(f"--format {args.format} writes files per input; --out {args.out!r} is a .zarr store.")
        self.format = None if self.store else _output_format(args.format, input_shape)
        self.examples = plan_examples(files, input_shape)
        if args.format == "nii" and not all(is_nifti(e.path) for e in self.examples):
            other = next(e for e in self.examples if not is_nifti(e.path))
            raise UsageError(f"--format nii writes maps over NIfTI inputs with their affine; {str(other.path)!r} is "
                             "not a .nii/.nii.gz file (use --format npy).")
        self.loader = ExampleLoader(input_shape, self.loaded.preprocess)
        self.num_targets = args.top_k or 1
        self.out = writable_folder(args.out)  # last, so a mistake above leaves no folder behind
        self.written = 0
        self.empty_maps: List[str] = []  # "NAME: target LABEL" of each empty map, said after the run

    def pending(self) -> List[Example]:
        if not self.args.resume:
            return list(self.examples)
        return [e for e in self.examples if not self.format.done(self.out, e.name, self.num_targets)]

    def explain_batch(self, batch: Sequence[Example]) -> None:
        """Explain and write ``batch``; ``written`` counts each input once all its
        outputs are complete."""
        loaded = [self.loader.load(example) for example in batch]
        groups: Dict[tuple, List[int]] = {}
        for index, (array, _) in enumerate(loaded):
            groups.setdefault(array.shape, []).append(index)
        for indices in groups.values():
            result = self._explain(np.stack([loaded[i][0] for i in indices]))
            for row, index in enumerate(indices):
                expl = result[row]
                image = loaded[index][1]
                if image is not None:
                    expl.image = image
                self._write(batch[index], expl, result.maps[row])
                self.empty_maps.extend(f"{batch[index].name}: target {t.target}" for t in expl.targets if t.empty)

    def _write(self, example: Example, expl, maps: np.ndarray) -> None:
        name = example.name
        try:
            self.format.write(self.out, name, expl, maps, example.path)
        except OSError as error:
            # each file appears complete or not at all, and an input counts as done only
            # when all its files exist, so --resume redoes exactly the unfinished inputs
            raise OutputError(
                f"cannot write the outputs of {name!r} into {str(self.out)!r}: {os_reason(error)}; the "
                f"{_count(self.written, 'input')} finished in this run are kept; fix that and run again "
                "with --resume to finish."
            ) from None
        self.written += 1

    def _explain(self, arrays: np.ndarray):
        import eli5_keras

        args = self.args
        try:
            with warnings.catch_warnings():  # said per file, after the run (report_empty)
                warnings.simplefilter("ignore", eli5_keras.EmptyMapWarning)
                result = eli5_keras.explain(
                    self.loaded.model,
                    arrays,
                    method=self.method,
                    targets=self.target,
                    top_k=args.top_k,
                    layer=self.layer,
                    batch_size=args.batch_size,
                )
        except ValueError as error:
            raise UsageError(one_line(error) + self.loaded.note) from None
        if self.loaded.class_names is not None:
            result = dataclasses.replace(result, target_names=self.loaded.class_names)
        return result

    def run(self) -> int:
        if self.store:
            return self.run_store()
        todo = self.pending()
        total = len(self.examples)
        progress = Progress(total, done=total - len(todo), enabled=not self.args.quiet)
        done = 0
        try:
            with StopRequest() as stop:  # Ctrl-C: stop after the batch in flight
                for batch in _batches(todo, self.args.batch_size):
                    if stop.requested:
                        break
                    self.explain_batch(batch)
                    done += len(batch)
                    progress.advance(len(batch))
            interrupted = stop.requested and done < len(todo)
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread
            interrupted = True
        except BaseException:
            progress.close(draw=False)
            raise
        progress.close()
        self.report_empty()
        if interrupted:
            print(
                f"eli5-keras: interrupted after {self.written} of {len(todo)} inputs; outputs so far are in "
                f"{str(self.out)!r}; run again with --resume to finish.",
                file=sys.stderr,
            )
            return 130
        if not self.args.quiet:
            skipped = total - len(todo)
            note = f" ({skipped} already done, skipped)" if skipped else ""
            print(f"eli5-keras: explained {_count(self.written, 'input')} with {self.method} into {str(self.out)!r}{note}.",
                  file=sys.stderr)
        return 0

    def run_store(self) -> int:
        """Explain every input into the Zarr store ``--out``."""
        import eli5_keras

        args = self.args
        caught: List[warnings.WarningMessage] = []
        try:
            with StopRequest() as stop, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", eli5_keras.EmptyMapWarning)
                if args.engine == "ray":
                    store = self.ray_store()
                    if isinstance(store, str):
                        if not args.quiet:
                            print(f"eli5-keras: explained {_count(len(self.examples), 'input')} with {self.method} "
                                  f"into {store!r} (Parquet).", file=sys.stderr)
                        return 0
                else:
                    store = eli5_keras.explain_dataset(
                        self.loaded.model, list(args.inputs), self.method, out=str(self.out), targets=self.target,
                        top_k=args.top_k, layer=self.layer, batch_size=args.batch_size, resume=args.resume,
                        progress=not args.quiet, target_names=self.loaded.class_names,
                        preprocess=self.loaded.preprocess, stop=lambda: stop.requested, chunk_size=args.chunk_size,
                    )
        except ValueError as error:
            raise UsageError(one_line(error) + self.loaded.note) from None
        except OSError as error:
            raise OutputError(
                f"cannot write the store {str(self.out)!r}: {os_reason(error)}; its finished batches are kept; "
                "fix that and run again with --resume to finish."
            ) from None
        for warning in caught:
            if issubclass(warning.category, eli5_keras.EmptyMapWarning):
                print(f"eli5-keras: warning: {one_line(warning.message)}", file=sys.stderr)
        run = store.run
        if run.interrupted:
            print(
                f"eli5-keras: interrupted after {_count(run.explained, 'input')}; the store {str(self.out)!r} keeps "
                "the finished batches; run again with --resume to finish.",
                file=sys.stderr,
            )
            return 130
        if not args.quiet:
            note = f" ({run.skipped} already done, skipped)" if run.skipped else ""
            print(f"eli5-keras: explained {_count(run.explained, 'input')} with {self.method} into "
                  f"{str(self.out)!r}{note}.", file=sys.stderr)
        return 0

    def ray_store(self) -> Any:
        """Explain the inputs on a Ray actor pool (:func:`eli5_keras.ray.explain_dataset`):
        the workers read the files, load the model from its file, and the store is
        written here."""
        args = self.args
        if not self.loaded.path:
            raise UsageError(f"--engine ray loads the model from a file in each worker; {args.model!r} is not a "
                             "model file (save it as .keras and pass the path).")
        try:
            import ray

            from .. import ray as eli5_ray
        except ModuleNotFoundError as error:
            raise UsageError(one_line(error)) from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
        try:
            # a batch .npy file's examples are its rows: "row" indexes its first axis (-1: one example)
            items = [dict(path=str(e.path), name=e.name, row=-1 if e.row is None else e.row) for e in self.examples]
            ds = ray.data.from_items(items, override_num_blocks=min(len(items), 8 * args.workers))
            return eli5_ray.explain_dataset(
                ds, self.loaded.path, self.method, out=str(self.out), column="path", rows="row", ids="name",
                workers=args.workers, gpus_per_worker=args.gpus_per_worker, targets=self.target,
                top_k=args.top_k, layer=self.layer, batch_size=args.batch_size, resume=args.resume,
                progress=not args.quiet, target_names=self.loaded.class_names, preprocess=self.loaded.preprocess,
            )
        finally:
            if started:
                ray.shutdown()

    def report_empty(self) -> None:
        """One stderr line per empty map written (after the progress bar, which redraws
        its line), then what they usually mean."""
        for where in self.empty_maps:
            print(f"eli5-keras: warning: {where}: empty map (constant, so it shows nothing)", file=sys.stderr)
        if self.empty_maps:
            print(f"eli5-keras: {_count(len(self.empty_maps), 'empty map')}: {EMPTY_MAP_HINT} "
                  "(options of eli5_keras.explain).", file=sys.stderr)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run_explain(args: argparse.Namespace) -> int:
    """Entry point of the ``explain`` subcommand; returns the exit status."""
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1; got {args.batch_size}.")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1; got {args.top_k}.")
    return ExplainRun(args).run()
