"""The AUCMEDI facade against AUCMEDI 0.11's formulas written plainly (GradientTape + numpy).

AUCMEDI's conventions restated here: the score is ``preds[:, class_index]``, the model's
output as it is (softmax included); every map but occlusion is min-maxed as
``(h - min) / (max - min + eps)``, ``eps = 1e-8``; Grad-CAM ``sum_k mean_ij(g) A^k`` with
no ReLU at the last layer with a 4-D output, not resized; saliency, guided backprop and
Integrated Gradients take the signed max over channels; IG has ``num_steps + 1`` points
and the trapezoid mean; Guided Grad-CAM multiplies the two normalised maps (Grad-CAM
resized bilinearly) and normalises again; occlusion is ``1 - p_c`` with 127.5 patches.
"""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from eli5_keras.compat import aucmedi as au
from eli5_keras.compat.aucmedi import methods as au_methods
from eli5_keras.formatters.colormaps import resolve_colormap

from helpers.data import NUM_CLASSES, images, volumes
from helpers.models import conv_classifier

L = keras.layers
TOL = dict(rtol=1e-4, atol=1e-5)
EPS = 1e-8


@pytest.fixture(scope="module")
def au_model():
    """ReLUs as ``activation="relu"`` (what AUCMEDI's guided backprop replaces), softmax output."""
    return conv_classifier(17, "au_model", (12, 12, 3), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        L.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="c2"),
        L.GlobalAveragePooling2D(name="gap"), L.Dense(NUM_CLASSES, activation="softmax", name="dense"),
    ])


def minmax(h):
    return (h - h.min()) / (h.max() - h.min() + EPS)


def forward(model, x, relu=tf.nn.relu, stop=None):
    """The model by hand: convolutions' pre-activations through ``relu``; ``stop``
    also returns that layer's output."""
    h, tapped = x, None
    for layer in model.layers[1:]:
        if isinstance(layer, L.Conv2D):
            z = keras.ops.conv(h, layer.kernel, strides=layer.strides, padding=layer.padding) + layer.bias
            h = relu(z)
        else:
            h = layer(h)
        if layer.name == stop:
            tapped = h
    return h, tapped


def input_gradient(model, x, c, relu=tf.nn.relu):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        p, _ = forward(model, x, relu)
        s = p[:, c]
    return tape.gradient(s, x).numpy()


def gradcam_reference(model, image, c, layer="c2"):
    with tf.GradientTape() as tape:
        p, A = forward(model, tf.convert_to_tensor(image), stop=layer)
        s = p[:, c]
    g = tape.gradient(s, A).numpy()[0]
    return minmax((A.numpy()[0] * g.mean(axis=(0, 1))).sum(-1))


@tf.custom_gradient
def guided_relu(z):
    return tf.nn.relu(z), lambda dy: tf.cast(dy > 0, dy.dtype) * tf.cast(z > 0, dy.dtype) * dy


def guided_reference(model, image, c):
    return minmax(input_gradient(model, image, c, guided_relu).max(-1)[0])


def test_gradcam_no_relu_at_last_4d_layer(au_model):
    x = images(2, seed=31)
    method = au.GradCAM(au_model)
    assert method.layerName == "c2"  # the last layer with a 4-D output
    for i, c in ((0, 1), (1, 4)):
        got = method.compute_heatmap(x[i:i + 1], c)
        assert got.shape == (6, 6)
        np.testing.assert_allclose(got, gradcam_reference(au_model, x[i:i + 1], c), **TOL)
    batched = method.heatmaps(x, [[1, 3], [4, 0]])
    assert batched.shape == (2, 2, 6, 6)
    np.testing.assert_allclose(batched[1, 1], gradcam_reference(au_model, x[1:2], 0), **TOL)
    named = au.GradCAM(au_model, layerName="c1").compute_heatmap(x[:1], 2)
    np.testing.assert_allclose(named, gradcam_reference(au_model, x[:1], 2, layer="c1"), **TOL)


def test_gradcampp_closed_form(au_model):
    x = images(1, seed=32)
    with tf.GradientTape() as tape:
        p, A = forward(au_model, tf.convert_to_tensor(x), stop="c2")
        s = p[:, 2]
    g = tape.gradient(s, A).numpy()[0]
    A = A.numpy()[0]
    den = 2 * g ** 2 + g ** 3 * A.sum(axis=(0, 1))
    alpha = np.divide(g ** 2, den, out=np.zeros_like(g), where=den != 0)
    total = alpha.sum(axis=(0, 1))
    alpha = alpha / np.where(total != 0, total, 1)
    weights = (np.maximum(g, 0) * alpha).sum(axis=(0, 1))
    expected = minmax((A * weights).sum(-1))
    np.testing.assert_allclose(au.GradCAMpp(au_model).compute_heatmap(x, 2), expected, **TOL)


@pytest.mark.filterwarnings("ignore:.*nonlinearities other than ReLU")
def test_saliency_and_guided_backprop_signed_max(au_model):
    x = images(1, seed=33)
    got = au.SaliencyMap(au_model).compute_heatmap(x, 3)
    assert got.shape == (12, 12)
    np.testing.assert_allclose(got, minmax(input_gradient(au_model, x, 3).max(-1)[0]), **TOL)
    np.testing.assert_allclose(
        au.GuidedBackpropagation(au_model).compute_heatmap(x, 3), guided_reference(au_model, x, 3), **TOL
    )


@pytest.mark.parametrize("num_steps", [50, 4])
def test_integrated_gradients_seed_example(au_model, num_steps):
    image, class_index = images(1, seed=34), 1
    grads = np.stack([input_gradient(au_model, k / num_steps * image, class_index) for k in range(num_steps + 1)])
    avg = ((grads[:-1] + grads[1:]) / 2).mean(axis=0)
    expected = minmax((image * avg).max(-1)[0])
    # AUCMEDI's seed example, unchanged but for the import
    from eli5_keras.compat.aucmedi.methods import IntegratedGradients
    heatmap = IntegratedGradients(au_model, num_steps=num_steps).compute_heatmap(image, class_index)
    np.testing.assert_allclose(heatmap, expected, rtol=1e-4, atol=2e-5)


@pytest.mark.filterwarnings("ignore:.*nonlinearities other than ReLU")
def test_guided_gradcam_seed_example(au_model):
    image, class_index, layerName = images(1, seed=35), np.int64(4), "c2"
    cam = tf.image.resize(gradcam_reference(au_model, image, 4)[..., None], (12, 12), method="bilinear").numpy()[..., 0]
    expected = minmax(guided_reference(au_model, image, 4) * cam)
    # AUCMEDI's seed example, unchanged but for the import
    from eli5_keras.compat.aucmedi.methods import GuidedGradCAM
    heatmap = GuidedGradCAM(au_model, layerName).compute_heatmap(image, class_index)
    assert heatmap.shape == (12, 12)
    np.testing.assert_allclose(heatmap, expected, **TOL)


def test_occlusion_sensitivity_one_minus_probability(au_model):
    x = images(1, seed=36) * 100 + 127.5
    patch = 5  # starts 0, 5, 10: the last patch is cut at the border, as AUCMEDI's slices
    expected = np.zeros((12, 12))
    for top in range(0, 12, patch):
        for left in range(0, 12, patch):
            occluded = x.copy()
            occluded[0, top:top + patch, left:left + patch, :] = 127.5
            expected[top:top + patch, left:left + patch] = 1 - au_model(occluded).numpy()[0, 2]
    got = au.OcclusionSensitivity(au_model, patch_size=patch).compute_heatmap(x, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


class Batches(keras.utils.PyDataset):
    def __init__(self, x, size):
        super().__init__()
        self.x, self.size = x, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        return self.x[i * self.size:(i + 1) * self.size], np.zeros(len(self.x[i * self.size:(i + 1) * self.size]))


def test_decoder_one_engine_call_per_batch(au_model, monkeypatch):
    x = images(5, seed=37)
    calls = []
    real = au_methods._explain
    monkeypatch.setattr(au_methods, "_explain", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    imgs, maps = au.xai_decoder(Batches(x, 3), au_model, method="gc")
    assert calls == [3, 2]  # one call per batch, every class at once
    assert len(imgs) == len(maps) == 5 and maps[0].shape == (NUM_CLASSES, 12, 12)
    np.testing.assert_array_equal(imgs[4], x[4])
    for c in (0, 3):
        cam = gradcam_reference(au_model, x[4:5], c)
        expected = tf.image.resize(cam[..., None], (12, 12), method="bilinear").numpy()[..., 0]
        np.testing.assert_allclose(maps[4][c], expected, **TOL)
    preds = au_model(x).numpy()
    calls.clear()
    _, chosen = au.xai_decoder([x[:2], x[2:]], au_model, preds=preds, method="sm")  # a list of batches
    assert calls == [2, 3]
    top = preds.argmax(-1)
    np.testing.assert_allclose(chosen[2], minmax(input_gradient(au_model, x[2:3], top[2]).max(-1)[0]), **TOL)


def test_decoder_writes_aucmedi_overlays(au_model, tmp_path):
    x = (images(2, seed=38) + 1) * 127.5  # values in [0, 255]
    preds = au_model(x).numpy()
    out = str(tmp_path / "xai")
    assert au.xai_decoder([x], au_model, preds=preds, method="ig", alpha=0.3, out_path=out) is None
    _, maps = au.xai_decoder([x], au_model, preds=preds, method="ig")
    jet = resolve_colormap("jet")(np.arange(256))[:, :3]
    expected = np.uint8(jet[np.uint8(maps[1] * 255)] * 255 * 0.3 + 0.7 * x[1])
    np.testing.assert_array_equal(np.asarray(Image.open(os.path.join(out, "sample_1.png"))), expected)
    au.xai_decoder([x[:1]], au_model, method="gb", overlay=False, out_path=out)
    names = sorted(os.listdir(out))
    assert names[:NUM_CLASSES] == [f"sample_0.class_{c}.png" for c in range(NUM_CLASSES)]
    grey = np.asarray(Image.open(os.path.join(out, "sample_0.class_2.png")))
    assert grey.shape == (12, 12) and grey.dtype == np.uint8


def test_name_table_and_errors(au_model):
    assert au.xai_dict["gradcam++"] is au.GradCAMpp and au.xai_dict["ggc"] is au.GuidedGradCAM
    assert au.xai_dict["os"] is au.OcclusionSensitivity
    assert au.xai_dict["lp"] is au.LimePro and au.xai_dict["lc"] is au.LimeCon
    with pytest.raises(ValueError, match="method must be one of"):
        au.xai_decoder([images(1)], au_model, method="lime")
    with pytest.raises(ValueError, match="one-element batch"):
        au.GradCAM(au_model).compute_heatmap(images(2), 0)
    with pytest.raises(TypeError, match="model must be"):
        au.xai_decoder([images(1)], "model")
    with pytest.raises(ValueError, match="class_indices"):
        au.SaliencyMap(au_model).heatmaps(images(2), [0.5, 1.0])
    dense = keras.Sequential([keras.Input((4,)), L.Dense(2)])
    with pytest.raises(ValueError, match="layerName"):
        au.GradCAM(dense)


def test_volumes_3d_heatmaps(volume_model, tmp_path):
    x = volumes(2, seed=39)
    with tf.GradientTape() as tape:
        h = tf.convert_to_tensor(x)
        for name in ("vol_conv1", "vol_conv2"):
            h = volume_model.get_layer(name)(h)
        A = h
        p = volume_model.get_layer("vol_dense")(volume_model.get_layer("vol_gap")(A))
        s = p[:, 2]
    g = tape.gradient(s, A).numpy()[1]
    expected = minmax((A.numpy()[1] * g.mean(axis=(0, 1, 2))).sum(-1))
    got = au.GradCAM(volume_model).compute_heatmap(x[1:2], 2)  # layer: vol_conv2, (3, 3, 3)
    assert got.shape == (3, 3, 3)
    np.testing.assert_allclose(got, expected, **TOL)
    _, maps = au.xai_decoder([x], volume_model, preds=np.eye(3)[[0, 2]], method="gc")
    assert maps[1].shape == (6, 6, 6)


class Scans(keras.utils.PyDataset):
    """Volumes with AUCMEDI's file naming attributes (samples, image_format) only."""

    def __init__(self, x, image_format):
        super().__init__()
        self.x, self.samples, self.image_format = x, [f"scan{i}" for i in range(len(x))], image_format

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return self.x


def volume_picture(volume, heatmap, alpha):
    """AUCMEDI's visualize_heatmap on a one-channel volume in [0, 255]: jet over RGB."""
    jet = resolve_colormap("jet")(np.arange(256))[:, :3]
    return jet[np.uint8(heatmap * 255)] * 255 * alpha + (1 - alpha) * np.concatenate([volume] * 3, axis=-1)


def test_volumes_written_as_aucmedi_visualizer(volume_model, tmp_path):
    """GIF (frames along axis 1), NIfTI in SimpleITK's layout (axes reversed, RGB as a
    vector intent, affine diag(-1, -1, 1, 1)) and .npy; .mha refused before any work."""
    import nibabel as nib  # the test extra installs it ([nifti])

    x = volumes(2, seed=40) * 255
    preds = np.eye(3)[[0, 2]]
    _, maps = au.xai_decoder([x], volume_model, preds=preds, method="gc")
    au.xai_decoder([x], volume_model, preds=preds, method="gc", overlay=False, out_path=str(tmp_path / "gif"))
    gif = Image.open(tmp_path / "gif" / "sample_1.gif")
    assert gif.n_frames == 6
    gif.seek(4)
    np.testing.assert_array_equal(np.asarray(gif.convert("L")), np.uint8(maps[1] * 255)[:, 4, :])
    au.xai_decoder(Scans(x, "nii.gz"), volume_model, method="gc", alpha=0.3, out_path=str(tmp_path / "nii"))
    assert sorted(os.listdir(tmp_path / "nii"))[:3] == [f"scan0.class_{c}.nii.gz" for c in range(3)]
    scan = nib.load(tmp_path / "nii" / "scan1.class_2.nii.gz")
    expected = volume_picture(x[1], maps[1], 0.3)
    np.testing.assert_allclose(scan.get_fdata(), np.transpose(expected, (2, 1, 0, 3))[:, :, :, None, :], atol=1e-9)
    np.testing.assert_array_equal(scan.affine, np.diag([-1.0, -1.0, 1.0, 1.0]))
    assert scan.header.get_intent()[0] == "vector"
    au.xai_decoder(Scans(x, "npy"), volume_model, preds=preds, alpha=0.3, out_path=str(tmp_path / "npy"))
    np.testing.assert_allclose(np.load(tmp_path / "npy" / "scan1.npy"), expected, atol=1e-9)
    calls = []
    with pytest.raises(ValueError, match="mha.*SimpleITK"):
        au.xai_decoder(Scans(x, "mha"), volume_model, method=Recording(calls), out_path=str(tmp_path / "mha"))
    assert calls == []


class Recording:
    """An AUCMEDI-style method (compute_heatmap only) that records its calls."""

    def __init__(self, calls):
        self.calls = calls

    def compute_heatmap(self, image, class_index, eps=1e-8):
        self.calls.append(class_index)
        return np.zeros(image.shape[1:-1])


class FakeDataGenerator:
    """AUCMEDI DataGenerator's interface: a loader, a subfunction (crop to 10 x 10 at
    (1, 2)), resize to the model's 12 x 12, standardisation (/ 255)."""

    def __init__(self, raw):
        self.raw, self.samples, self.path_imagedir = raw, [f"img{i}" for i in range(len(raw))], "images"
        self.image_format, self.grayscale, self.kwargs, self.batch_size = "png", False, {}, 2

    def sample_loader(self, sample, path_imagedir, image_format=None, grayscale=False):
        return self.raw[self.samples.index(sample)]

    def preprocess_image(self, index, prepared_image=False, run_resize=True, run_aug=True, run_standardize=True):
        img = self.sample_loader(self.samples[index], self.path_imagedir, image_format=self.image_format)
        img = img[1:11, 2:12]
        if run_resize:
            img = tf.image.resize(img, (12, 12)).numpy()
        return img / 255.0 if run_standardize else img


def test_preprocess_overlay(au_model):
    """With AUCMEDI's DataGenerator interface, each image explained as
    preprocess_image(i, run_aug=False), its map resized onto (and returned with) the
    cropped image (True) or the loaded one (False); a plain source has no originals."""
    raw = np.random.default_rng(41).uniform(0, 255, size=(3, 14, 14, 3)).astype(np.float32)
    gen = FakeDataGenerator(raw)
    for flag, shape in ((True, (10, 10)), (False, (14, 14))):
        imgs, maps = au.xai_decoder(gen, au_model, preds=np.eye(NUM_CLASSES)[[1, 0, 4]], method="sm",
                                    preprocess_overlay=flag)
        assert len(imgs) == 3 and imgs[2].shape == shape + (3,) and maps[2].shape == shape
        np.testing.assert_array_equal(imgs[2], raw[2][1:11, 2:12] if flag else raw[2])
        x = gen.preprocess_image(2, run_aug=False)[None]
        expected = minmax(input_gradient(au_model, x, 4).max(-1)[0])
        np.testing.assert_allclose(maps[2], tf.image.resize(expected[..., None], shape).numpy()[..., 0], **TOL)
    with pytest.raises(ValueError, match="preprocess_overlay=False draws the heat maps over the original"):
        au.xai_decoder([images(1)], au_model, preprocess_overlay=False)


@pytest.mark.parametrize("negative", [False, True], ids=["pro", "con"])
def test_lime_pro_con_masks_as_lime_draws_them(au_model, negative):
    """AUCMEDI's LimePro/LimeCon: the lime package's get_image_and_mask (positive_only /
    negative_only, 5 superpixels) over the engine's LIME coefficients, min-maxed."""
    from lime.lime_image import ImageExplanation
    from skimage.segmentation import quickshift

    import eli5_keras as eli5
    from eli5_keras.methods.segments import QUICKSHIFT_OPTIONS

    model = conv_classifier(43, "lime_model", (32, 32, 3), lambda: [
        L.Conv2D(4, 3, strides=2, activation="relu"), L.GlobalAveragePooling2D(), L.Dense(NUM_CLASSES, activation="softmax"),
    ])
    colours = np.random.default_rng(41).uniform(0.0, 255.0, (4, 4, 3))  # pixels as AUCMEDI feeds them
    x = np.kron(colours, np.ones((8, 8, 1)))[None].astype(np.float32)  # 16 colour blocks: quickshift's superpixels
    c = 1
    facade = (au.LimeCon if negative else au.LimePro)(model, num_samples=200)
    heatmap = facade.compute_heatmap(x, c)
    coefficients = eli5.explain(
        model, x, method="lime", segments="quickshift", hide_value=0.0, samples=200, targets=[[c]],
        use_logits=False, relu=False, normalize=False,
    ).maps[0, 0]
    labels = quickshift(x[0].astype(np.float64), **QUICKSHIFT_OPTIONS)
    per_segment = [float(coefficients[labels == k].mean()) for k in range(labels.max() + 1)]
    assert labels.max() + 1 > 5 and min(per_segment) < 0 < max(per_segment)
    explanation = ImageExplanation(x[0], labels)
    explanation.local_exp = {c: sorted(enumerate(per_segment), key=lambda kv: -abs(kv[1]))}
    _, mask = explanation.get_image_and_mask(c, positive_only=not negative, negative_only=negative, hide_rest=True)
    assert heatmap.shape == (32, 32) and mask.sum() > 0
    np.testing.assert_allclose(heatmap, minmax(mask.astype(np.float64)), atol=1e-7)
