"""NIfTI volumes (``.nii`` / ``.nii.gz``) as inputs of ``eli5-keras explain`` and of
``explain_dataset``, and ``--format nii`` maps written back with the input's affine and
header. The files are made with nibabel in tmp folders; the numbers are explain()'s on
the same voxels (with the file's scaling applied, a channel axis added)."""
import gzip

import keras
import nibabel as nib
import numpy as np
import pytest

import eli5_keras
from eli5_keras.cli.errors import UsageError
from eli5_keras.cli.inputs import ExampleLoader, collect_files, plan_examples
from eli5_keras.cli.main import main

from helpers.models import volume_model

SHAPE = (6, 6, 6)
TOL = 1e-6


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The volume model saved as .keras, and three scans: a float .nii, a .nii.gz, and an
    int16 .nii.gz whose header scales its values (slope 0.01, intercept 0.5)."""
    folder = tmp_path_factory.mktemp("nifti")
    model = volume_model()
    model.save(folder / "volume.keras")
    rng = np.random.default_rng(0)
    affine = np.array([[2.0, 0, 0, -10], [0, 2.0, 0, 4], [0, 0, 3.0, 7], [0, 0, 0, 1]])
    scans = folder / "scans"
    scans.mkdir()
    voxels = []
    for name in ("a.nii", "b.nii.gz"):
        data = rng.uniform(size=SHAPE).astype(np.float32)
        nib.save(nib.Nifti1Image(data, affine), scans / name)
        voxels.append(data)
    raw = rng.integers(0, 100, SHAPE).astype(np.int16)
    scaled = nib.Nifti1Image(raw, affine)
    scaled.header.set_slope_inter(0.01, 0.5)
    nib.save(scaled, scans / "c.nii.gz")
    voxels.append(raw.astype(np.float32) * np.float32(0.01) + np.float32(0.5))
    return folder / "volume.keras", scans, np.stack(voxels)[..., None], affine


def test_format_nii_over_the_scan(saved, tmp_path):
    """``--format nii``: one NAME.nii.gz per scan, on its affine, holding explain()'s map."""
    model_path, scans, voxels, affine = saved
    out = tmp_path / "maps"
    assert main(["explain", str(model_path), str(scans), "--format", "nii", "--out", str(out), "--quiet"]) == 0
    expected = eli5_keras.explain(keras.saving.load_model(model_path), voxels)
    for row, name in enumerate(("a", "b", "c")):
        written = nib.load(out / f"{name}.nii.gz")
        np.testing.assert_allclose(written.affine, affine)
        assert written.shape == SHAPE and written.get_data_dtype() == np.float32
        np.testing.assert_allclose(np.asarray(written.dataobj), expected.maps[row, 0], atol=TOL)
    top2 = tmp_path / "top2"
    assert main(["explain", str(model_path), str(scans / "a.nii"), "--format", "nii", "--top-k", "2",
                 "--out", str(top2), "--quiet"]) == 0
    written = nib.load(top2 / "a.nii.gz")
    assert written.shape == SHAPE + (2,)
    np.testing.assert_allclose(np.moveaxis(np.asarray(written.dataobj), -1, 0),
                               eli5_keras.explain(keras.saving.load_model(model_path), voxels[:1], top_k=2).maps[0],
                               atol=TOL)


def test_explain_dataset_reads_nifti(saved, tmp_path):
    model_path, scans, voxels, _ = saved
    model = keras.saving.load_model(model_path)
    store = eli5_keras.explain_dataset(model, scans, out=tmp_path / "maps.zarr", batch_size=2, progress=False)
    np.testing.assert_allclose(store.maps[:], eli5_keras.explain(model, voxels).maps, atol=TOL)


def test_voxels_read_when_loaded_and_errors_named(saved, tmp_path, capsys):
    """Planning reads headers only: a scan whose voxels are cut off is planned, and fails
    when loaded, naming the file; a scan of the wrong shape and --format nii over other
    inputs are refused up front."""
    _, scans, _, _ = saved
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(gzip.compress(gzip.decompress((scans / "b.nii.gz").read_bytes())[:400]))
    input_shape = (None,) + SHAPE + (1,)
    [example] = plan_examples(collect_files([str(cut)]), input_shape)
    assert example.name == "cut"
    with pytest.raises(UsageError, match=f"cannot read NIfTI volume '{cut}'"):
        ExampleLoader(input_shape, lambda p: p).load(example)
    wrong = tmp_path / "wrong.nii"
    nib.save(nib.Nifti1Image(np.zeros((5, 6, 6), np.float32), np.eye(4)), wrong)
    with pytest.raises(UsageError, match=r"has shape \(5, 6, 6\), but the model expects one example of shape "
                                         r"\(6, 6, 6, 1\)"):
        plan_examples(collect_files([str(wrong)]), input_shape)
    np.save(tmp_path / "v.npy", np.zeros(SHAPE + (1,), np.float32))
    status = main(["explain", str(saved[0]), str(tmp_path / "v.npy"), "--format", "nii", "--out", str(tmp_path / "o")])
    assert status == 2
    assert "--format nii writes maps over NIfTI inputs" in capsys.readouterr().err
