"""Parity of the compat facades with the original libraries: the same inputs through
the original and through the facade; the largest difference per method and the time
per image of each side.

Not part of the test suite: it needs Xplique and AUCMEDI, which install beside TF 2.21
with ``--no-deps`` only (the project's ``/work/refvenv``). keras-explainable cannot load
on Keras 3, so its side is its documented formulas (its ``methods/*.py`` code, written
here with Keras 3 calls, compiled with ``tf.function`` as ``ke.explain`` runs them;
``smooth`` as its Python loop is written, around the compiled method). Run::

    . /work/refvenv/bin/activate
    PYTHONPATH=/path/to/checkout python benchmarks/parity_compat.py [--images 8] [--repeats 3]

and paste the table into docs/compat.md. ``max |diff|`` is over all maps; ``rel`` divides
it by the original's largest magnitude. Methods with random sampling (SmoothGrad,
VarGrad, SquareGrad, Rise, smooth) cannot agree number by number (each side draws its
own noise): their row compares the two estimates at many samples, so the difference is
Monte Carlo error that shrinks as the samples grow.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

L = keras.layers
keras.utils.disable_interactive_logging()  # AUCMEDI's occlusion calls model.predict per patch
SIZE, CLASSES = 32, 5


def build_model(logits: bool = False, free: bool = False) -> keras.Model:
    """A small CNN, ReLUs as ``activation="relu"`` (what AUCMEDI's guided backprop
    replaces); softmax output, or logits (keras-explainable's docs); ``free``: any
    spatial size (the same weights), for test-time augmentation."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3) if free else (SIZE, SIZE, 3))
    h = L.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
    h = L.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c2")(h)
    h = L.Conv2D(16, 3, padding="same", activation="relu", name="c3")(h)
    h = L.GlobalAveragePooling2D(name="gap")(h)
    out = L.Dense(CLASSES, activation=None if logits else "softmax", name="dense")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="categorical_crossentropy")  # AUCMEDI's clone reads them
    return model


def timed(fn, repeats: int):
    """(result, median seconds) after one warm-up call."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def correlation(a, b):
    """Mean over maps of the Pearson correlation of two sets of maps ``(N, ...)``."""
    return float(np.mean([np.corrcoef(u.ravel(), v.ravel())[0, 1] for u, v in zip(a, b)]))


def row(library, name, original, facade, n, repeats, note=""):
    ref, t_ref = timed(original, repeats)
    got, t_got = timed(facade, repeats)
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    if ref.shape != got.shape:
        raise AssertionError(f"{library} {name}: shapes {ref.shape} (original) and {got.shape} (facade) differ")
    diff = np.abs(ref - got).max()
    scale = np.abs(ref).max()
    if note.startswith("random"):
        again = np.asarray(original(), np.float64)  # another draw of the original: the Monte Carlo floor
        note += (f"; original vs its own rerun: rel {np.abs(again - ref).max() / scale:.2e}; mean per-map "
                 f"correlation facade/original {correlation(got, ref):.3f}, original/rerun {correlation(again, ref):.3f}")
    print(f"| {library} | {name} | {ref.shape} | {diff:.2e} | {diff / scale if scale else 0:.2e} | "
          f"{1e3 * t_ref / n:.1f} | {1e3 * t_got / n:.1f} | {t_ref / t_got:.1f}x | {note} |", flush=True)


def xplique_rows(model, x, y, repeats):
    import xplique.attributions as xa
    from eli5_keras.compat import xplique as xq

    n = len(x)
    cases = [
        ("GradCAM", {}, ""), ("GradCAMPP", {}, ""), ("Saliency", {}, ""), ("GradientInput", {}, ""),
        ("IntegratedGradients", {"steps": 50}, ""), ("GuidedBackprop", {}, ""), ("DeconvNet", {}, ""),
        ("Occlusion", {"patch_size": 4, "patch_stride": 4}, ""),
        ("SmoothGrad", {"nb_samples": 400, "noise": 0.1}, "random: Monte Carlo error"),
        ("SquareGrad", {"nb_samples": 400, "noise": 0.1}, "random: Monte Carlo error"),
        ("VarGrad", {"nb_samples": 400, "noise": 0.1}, "random: Monte Carlo error"),
        ("Rise", {"nb_samples": 2000, "grid_size": 8}, "random: Monte Carlo error"),
    ]
    for name, options, note in cases:
        original = getattr(xa, name)(model, **options)
        facade = getattr(xq, name)(model, **options)
        row("Xplique", name, lambda: original.explain(x, y), lambda: facade.explain(x, y), n, repeats, note)


def xplique_gsa_rows(model, x, y, repeats):
    """Sobol and HSIC: deterministic designs (Sobol sequence), so the maps agree number by
    number; ``options(module)`` builds each side's arguments from its own module (Xplique's
    ``global_sensitivity_analysis`` or ``eli5_keras.compat.xplique``), except where
    Xplique's own sampler is handed to the facade."""
    import xplique.attributions as xa
    import xplique.attributions.global_sensitivity_analysis as xg
    from eli5_keras.compat import xplique as xq

    cases = [
        ("SobolAttributionMethod", lambda m: {}, "defaults: grid 8, 32 designs, Jansen, inpainting"),
        ("SobolAttributionMethod", lambda m: {"grid_size": 4, "nb_design": 16, "estimator": m.JanonEstimator(),
                                              "perturbation_function": "blurring"},
         "grid 4, 16 designs, Janon, blurring"),
        ("HsicAttributionMethod", lambda m: {}, "defaults: grid 8, 500 binary Sobol designs, inpainting"),
        ("HsicAttributionMethod", lambda m: {"grid_size": 4, "nb_design": 256, "perturbation_function": "amplitude",
                                             "sampler": xg.TFSobolSequence(binary=True)},
         "grid 4, 256 designs, amplitude; Xplique's own sampler object given to both"),
    ]
    for name, options, note in cases:
        original = getattr(xa, name)(model, **options(xg))
        facade = getattr(xq, name)(model, **options(xq))
        row("Xplique", name, lambda: original.explain(x, y), lambda: facade.explain(x, y), len(x), repeats, note)


def xplique_task_models():
    """A small segmenter ``(N, 32, 32, 3) -> (N, 32, 32, 3)`` softmax per pixel, and a small
    detector without NMS ``(N, 32, 32, 3) -> (N, 16, 4 + 1 + 3)``: xyxy boxes around a grid
    of anchors (offsets and sizes from a CNN), a sigmoid objectness, softmax class scores."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((SIZE, SIZE, 3))
    h = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    h = L.Conv2D(8, 3, padding="same", activation="relu")(h)
    segmenter = keras.Model(inp, L.Conv2D(3, 1, activation="softmax")(h))

    keras.utils.set_random_seed(2)
    inp = keras.Input((SIZE, SIZE, 3))
    h = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    h = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    h = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)  # (4, 4): 16 proposals
    raw = L.Reshape((16, 16))(h)
    centres = np.stack(np.meshgrid(np.arange(4) * 8 + 4, np.arange(4) * 8 + 4), -1).reshape(1, 16, 2)
    centre = L.Lambda(lambda t: t + centres.astype("float32"))(L.Dense(2, activation="tanh")(raw) * 4.0)
    size = L.Dense(2, activation="sigmoid")(raw) * 12.0 + 2.0
    boxes = L.Concatenate()([centre - size / 2, centre + size / 2])
    objectness = L.Dense(1, activation="sigmoid")(raw)
    classes = L.Dense(3, activation="softmax")(raw)
    detector = keras.Model(inp, L.Concatenate()([boxes, objectness, classes]))
    return segmenter, detector


def xplique_task_rows(x, repeats):
    """Xplique's Tasks: SEMANTIC_SEGMENTATION (each image's top-class zone of class 1, the
    mask Xplique's get_class_zone makes) and OBJECT_DETECTION (each image's two most
    confident proposals as references, one call with (N, 2, 8) targets; and its variants),
    with Saliency and Occlusion; each side's own Tasks member."""
    import xplique
    import xplique.attributions as xa
    from eli5_keras.compat import xplique as xq

    n = len(x)
    segmenter, detector = xplique_task_models()
    predicted = np.asarray(segmenter(x)).argmax(-1)
    masks = np.zeros((n, SIZE, SIZE, 3), np.float32)
    masks[..., 1] = predicted == 1
    masks[~masks.any(axis=(1, 2, 3)), :, :, 1] = 1.0  # an image without class 1: the whole image
    proposals = np.asarray(detector(x))
    top = np.argsort(-proposals[..., 4], axis=1)[:, :2]
    references = np.take_along_axis(proposals, top[..., None], axis=1)
    cases = [
        ("SEMANTIC_SEGMENTATION", segmenter, masks),
        ("OBJECT_DETECTION", detector, references),
        ("OBJECT_DETECTION_BOX_POSITION", detector, references),
        ("OBJECT_DETECTION_BOX_PROBA", detector, references),
        ("OBJECT_DETECTION_BOX_CLASS", detector, references),
    ]
    for task, model, targets in cases:
        for name, options in (("Saliency", {}), ("Occlusion", {"patch_size": 4, "patch_stride": 4})):
            if task.startswith("OBJECT_DETECTION_") and name == "Occlusion":
                continue
            original = getattr(xa, name)(model, operator=getattr(xplique.Tasks, task), **options)
            facade = getattr(xq, name)(model, operator=getattr(xq.Tasks, task), **options)
            row("Xplique", f"{name} {task}", lambda: original.explain(x, targets), lambda: facade.explain(x, targets),
                n, repeats, f"targets {targets.shape}")
    for name, options in (("Saliency", {}), ("Occlusion", {"patch_size": 4, "patch_stride": 4})):
        original = getattr(xa, name)(detector, operator=xplique.Tasks.OBJECT_DETECTION, **options)
        facade = getattr(xq, name)(detector, operator=xplique.Tasks.OBJECT_DETECTION, **options)
        row("Xplique", f"{name} OBJECT_DETECTION, one box per image", lambda: original.explain(x, references[:, 0]),
            lambda: facade.explain(x, references[:, 0]), n, repeats,
            f"targets {references[:, 0].shape}; the facade given Xplique's own Tasks.OBJECT_DETECTION")


def engine_samples(sampling):
    """A ``pertub_func`` for Xplique that returns the rows the facade draws (seed 0), so
    both sides fit the same samples."""
    import tensorflow as tf
    from eli5_keras.methods.lime import sampled_design

    def pertub_func(num_features, nb_samples):
        k = int(tf.reshape(num_features, [-1])[0])
        z = sampled_design(0, tf.range(nb_samples), tf.constant([k]), k, 0.5, sampling, False)[0]
        return tf.cast(z, tf.int32)

    return pertub_func


def xplique_surrogate_rows(model, x, y, repeats):
    """Lime and KernelShap: with the facade's samples given to Xplique (equal up to
    float rounding), and each side drawing its own (Monte Carlo: mean per-image
    correlation of the maps, and the original against its own rerun)."""
    import xplique.attributions as xa
    from eli5_keras.compat import xplique as xq

    n = len(x)
    from sklearn.linear_model import Lasso

    cases = (("Lime", "", {"nb_samples": 150}, "bernoulli"),
             ("KernelShap", "", {"nb_samples": 800}, "shapley"),
             ("Lime", " cosine", {"nb_samples": 150, "distance_mode": "cosine", "kernel_width": 0.7}, "bernoulli"),
             ("Lime", " Lasso", {"nb_samples": 150, "interpretable_model": Lasso(alpha=1e-6)}, "bernoulli"))
    for name, label, options, sampling in cases:
        original = getattr(xa, name)(model, **options)
        original.pertub_func = engine_samples(sampling)
        facade = getattr(xq, name)(model, **options)
        row("Xplique", f"{name}{label} (same samples)", lambda: original.explain(x, y), lambda: facade.explain(x, y),
            n, repeats, "Xplique given the facade's samples (pertub_func)")
    for name, options in (("Lime", {"nb_samples": 2000, "batch_size": 500}), ("KernelShap", {"nb_samples": 2000})):
        original = getattr(xa, name)(model, **options)
        facade = getattr(xq, name)(model, **options)
        row("Xplique", name, lambda: original.explain(x, y), lambda: facade.explain(x, y), n, repeats,
            "random: Monte Carlo error")


def aucmedi_rows(model, x, classes, repeats):
    import aucmedi.xai.methods as am
    from eli5_keras.compat.aucmedi import methods as fm

    n = len(x)
    cases = [
        ("GradCAM", {}, ""), ("GradCAMpp", {}, "closed form vs AUCMEDI's nested tapes on the softmax"),
        ("SaliencyMap", {}, ""), ("GuidedBackpropagation", {}, ""), ("IntegratedGradients", {"num_steps": 50}, ""),
        ("GuidedGradCAM", {}, ""), ("OcclusionSensitivity", {}, ""),
    ]
    for name, options, note in cases:
        original = getattr(am, name)(model, **options)
        facade = getattr(fm, name)(model, **options)

        def per_image():
            return np.stack([original.compute_heatmap(x[i:i + 1], int(classes[i])) for i in range(n)])

        def batched():
            return facade.heatmaps(x, classes)[:, 0]

        row("AUCMEDI", name, per_image, batched, n, repeats, note or "AUCMEDI: one call per image; facade: one batch")


def ke_reference(model, layer):
    """keras-explainable's methods as its code computes them (Keras 3 calls)."""
    features = keras.Model(model.inputs, [model.output, model.get_layer(layer).output])

    def gather(t, y):
        return tf.gather(t, y, axis=-1, batch_dims=1)

    def gradcam(x, y):
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            logits, a = features(x)
            logits = gather(logits, y)
        weights = tf.reduce_mean(tape.batch_jacobian(logits, a), axis=(-3, -2))
        return tf.einsum("b...k,bck->b...c", a, weights)

    def gradcampp(x, y):
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            logits, a = features(x)
            logits = gather(logits, y)
        dlda = tape.batch_jacobian(logits, a)
        dyda = tf.einsum("bc,bc...k->bc...k", tf.exp(logits), dlda)
        d2, d3 = dlda ** 2, dlda ** 3
        aab = tf.reduce_sum(a, axis=(1, 2))
        akc = tf.math.divide_no_nan(d2, 2.0 * d2 + tf.einsum("bk,bc...k->bc...k", aab, d3))
        weights = tf.reduce_sum(akc * tf.nn.relu(dyda), axis=(-3, -2))
        return tf.einsum("bck,b...k->b...c", weights, a)

    def cam(x, y):
        _, a = features(x)
        kernel = model.get_layer("dense").kernel
        return tf.einsum("b...k,kbc->b...c", a, tf.gather(kernel, y, axis=-1))

    def normalize(t):
        t = t - tf.reduce_min(t, axis=(1, 2), keepdims=True)
        return tf.math.divide_no_nan(t, tf.reduce_max(t, axis=(1, 2), keepdims=True))

    def scorecam(x, y):
        _, a = features(x)
        maps = 0.0
        for k in range(a.shape[-1]):
            mask = tf.image.resize(normalize(a[..., k:k + 1]), x.shape[1:3])
            s = gather(model(x * mask), y)
            maps += tf.einsum("bc,bhw->bhwc", s, mask[..., 0])
        return maps

    def gradients(x, y):
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = gather(model(x), y)
        return tf.transpose(tf.reduce_mean(tf.abs(tape.batch_jacobian(logits, x)), -1), [0, 2, 3, 1])

    def smooth(method, repetitions, noise):
        def apply(x, y):
            maps = method(x, y)
            for _ in range(repetitions - 1):
                maps += method(x + tf.random.normal(x.shape, 0, noise), y)
            return maps / repetitions
        return apply

    inters = [layer for layer in model.layers[1:-1] if getattr(layer, "bias", None) is not None]
    exposed = keras.Model(model.inputs, [model.output] + [layer.output for layer in inters])

    def full_gradients(x, y):
        """layers_with_biases(model, exclude=[logits]) exposed; _resized_psi_dfx summed."""
        x = tf.convert_to_tensor(x)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            logits, *intermediates = exposed(x, training=False)
            logits = gather(logits, y)
        grad_input, *grad_inter = tape.gradient(logits, [x, *intermediates])

        def resized_psi_dfx(inputs, outputs):
            t = normalize(tf.abs(outputs * inputs))
            return tf.image.resize(tf.reduce_mean(t, axis=-1, keepdims=True), x.shape[1:3])

        maps = resized_psi_dfx(x, grad_input)
        for layer, g in zip(inters, grad_inter):
            maps += resized_psi_dfx(layer.bias, g)
        return maps

    def tta(method, scales, hflip):
        """meta.tta's _forward: flip, resize to int(s * size), the method, flip back,
        resize onto the input; summed, divided by len(scales) * (2 if hflip else 1)."""
        def apply(x, y):
            sizes = x.shape[1:3]
            maps = 0.0
            for scale in [None] + scales:
                for flip in ([False, True] if hflip else [False]):
                    z = tf.image.flip_left_right(x) if flip else x
                    if scale is not None:
                        z = tf.image.resize(z, tf.cast(scale * tf.cast(sizes, tf.float32), tf.int32))
                    m = method(z, y)
                    m = tf.image.flip_left_right(m) if flip else m
                    maps += tf.image.resize(m, sizes)
            return maps / (len(scales) * (2 if hflip else 1))
        return apply

    return {"cam": cam, "gradcam": gradcam, "gradcampp": gradcampp, "scorecam": scorecam,
            "gradients": gradients, "full_gradients": full_gradients,
            "tta(gradcam)": tta(gradcam, [0.5, 1.5, 2.0], True),
            "smooth(gradcam)": smooth(tf.function(gradcam), 200, 0.1)}


def ke_rows(x, y, repeats):
    import eli5_keras.compat.keras_explainable as ke

    model = build_model(logits=True)
    reference = ke_reference(model, "c3")
    reference["tta(gradcam)"] = ke_reference(build_model(logits=True, free=True), "c3")["tta(gradcam)"]
    logits = ke.inspection.get_logits_layer(model)
    inters, biases = ke.inspection.layers_with_biases(model, exclude=[logits])
    free = build_model(logits=True, free=True)
    facades = {
        "cam": ke.methods.cams.cam, "gradcam": ke.methods.cams.gradcam, "gradcampp": ke.methods.cams.gradcampp,
        "scorecam": ke.methods.cams.scorecam, "gradients": ke.methods.gradient.gradients,
        "full_gradients": lambda m, x, y: ke.methods.gradient.full_gradients(
            ke.inspection.expose(model, inters, logits), x, y, biases=biases),
        "tta(gradcam)": lambda m, x, y: ke.methods.meta.tta(ke.methods.cams.gradcam)(ke.inspection.expose(free), x, y),
        "smooth(gradcam)": ke.methods.meta.smooth(ke.methods.cams.gradcam, repetitions=200, noise=0.1),
    }
    exposed = ke.inspection.expose(model)
    for name, method in facades.items():
        note = "random: Monte Carlo error" if name.startswith("smooth") else "original: its formulas (no Keras 3 build)"
        compiled = reference[name] if name.startswith("smooth") else tf.function(reference[name])
        row("keras-explainable", name, lambda: compiled(tf.constant(x), tf.constant(y)),
            lambda: method(exposed, x, y)[1], len(x), repeats, note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--libraries", nargs="+",
                        default=["xplique", "xplique-gsa", "xplique-tasks", "aucmedi", "keras-explainable"],
                        help="xplique-gsa: Xplique's SobolAttributionMethod and HsicAttributionMethod; "
                             "xplique-surrogates: its Lime and KernelShap (also run by xplique); "
                             "xplique-tasks: its semantic segmentation and object detection operators")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.images, SIZE, SIZE, 3)).astype(np.float32)
    model = build_model()
    classes = np.asarray(model(x)).argmax(-1)
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs (shared machine), "
          f"{args.images} images {SIZE}x{SIZE}x3, median of {args.repeats} after a warm-up\n")
    print("| library | method | maps | max abs diff | rel | original ms/img | facade ms/img | speed-up | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    if "xplique" in args.libraries:
        xplique_rows(model, x, np.eye(CLASSES, dtype=np.float32)[classes], args.repeats)
    if "xplique-gsa" in args.libraries:
        xplique_gsa_rows(model, x, np.eye(CLASSES, dtype=np.float32)[classes], args.repeats)
    if "xplique-tasks" in args.libraries:
        xplique_task_rows(x, args.repeats)
    if {"xplique", "xplique-surrogates"} & set(args.libraries):
        xplique_surrogate_rows(model, x, np.eye(CLASSES, dtype=np.float32)[classes], args.repeats)
    if "aucmedi" in args.libraries:
        aucmedi_rows(model, x, classes, args.repeats)
    if "keras-explainable" in args.libraries:
        ke_rows(x, np.stack([classes, (classes + 1) % CLASSES], axis=1), args.repeats)


if __name__ == "__main__":
    sys.exit(main())
