from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

TF = ">=2.16"
# Platforms with a tensorflow-cpu wheel, and the rest (markers have no `not`).
CPU_WHEEL = (
    "(platform_system == 'Linux' and platform_machine == 'x86_64')"
    " or (platform_system == 'Windows' and platform_machine == 'AMD64')"
)
NO_CPU_WHEEL = (
    "(platform_system != 'Linux' and platform_system != 'Windows')"
    " or (platform_system == 'Linux' and platform_machine != 'x86_64')"
    " or (platform_system == 'Windows' and platform_machine != 'AMD64')"
)

setup(
    name="eli5-keras",
    version="0.1.0",
    description="Explain Keras model predictions: eli5's Keras API on a compiled, batched backend.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["eli5_keras", "eli5_keras.*"]),
    include_package_data=True,
    # HTML templates and their CSS (read by eli5_keras.formatters.templating), and the demo's
    # trained model: `eli5-keras demo` needs no training.
    package_data={"eli5_keras.templates": ["*.html", "*.css"], "eli5_keras.demo": ["model.keras"]},
    # The console script starts in a module outside the package, so that it can quiet
    # TensorFlow's INFO lines before importing it (see eli5_keras_cli.py).
    py_modules=["eli5_keras_cli"],
    entry_points={"console_scripts": ["eli5-keras = eli5_keras_cli:main"]},
    # TensorFlow is not a base requirement, as Keras 3 names no backend either: its builds are
    # distributions with different names sharing one `tensorflow` package folder (tensorflow,
    # the GPU-capable one; tensorflow-cpu; tensorflow-rocm, tf-nightly, ...), pip counts only a
    # distribution of the very name required as satisfying it, and two of them installed
    # break each other. Any base requirement would lay a second build over a user's own
    # (tensorflow-cpu over a GPU workstation's tensorflow, or tensorflow over tensorflow-cpu).
    # `pip install eli5-keras` keeps the build a machine has; the extras bring one to a
    # machine that has none (see README "Install"; importing without one says so).
    install_requires=[
        "keras>=3.0",
        "numpy>=1.23",
        "pillow>=9.1",
        "matplotlib>=3.5",
        "jinja2>=3.0",
        "markupsafe>=2.0",
    ],
    extras_require={
        # The CPU-only build where one exists (Linux x86_64, Windows: tensorflow-cpu, without
        # the CUDA kernels of the ~570 MB `tensorflow` wheel); elsewhere (macOS, Linux
        # aarch64) TensorFlow publishes only `tensorflow`, which runs on the CPU there.
        "cpu": [
            f"tensorflow-cpu{TF}; {CPU_WHEEL}",
            f"tensorflow{TF}; {NO_CPU_WHEEL}",
        ],
        # NVIDIA GPUs on Linux: TensorFlow with the CUDA libraries as pip packages. TensorFlow
        # has no GPU wheel for Windows or macOS, whose `tensorflow` runs on the CPU.
        "gpu": [
            f"tensorflow[and-cuda]{TF}; platform_system == 'Linux'",
            f"tensorflow{TF}; platform_system != 'Linux'",
        ],
        # eli5 0.16 is the reference the compatibility tests compare numbers against;
        # nbclient, nbformat and ipykernel execute docs/tutorial.ipynb in a real kernel;
        # websocket-client drives headless Chromium (DevTools protocol) to check the report;
        # pytest-xdist runs the suite in two processes (most of its time is single-threaded
        # graph tracing, so two workers halve the wall time on two cores); setuptools and
        # packaging let tests/test_packaging.py build this setup.py's metadata and read its
        # markers; pandas lets the tests check Evaluation.to_pandas; zarr (as [datasets]) for the
        # Zarr store tests; lime and shap are the references LIME's and KernelSHAP's coefficients are
        # compared with, scikit-image (as [superpixels]) the quickshift/SLIC segmentations;
        # ray[data] (as [ray]) for tests/test_ray.py, which starts a real local
        # Ray runtime; nibabel (as [nifti]) for the NIfTI tests, which write scans with it.
        # TensorFlow itself comes from [cpu] or [gpu] (README: `.[cpu,test]`).
        "test": [
            "pytest>=7",
            "pytest-xdist>=3",
            "eli5==0.16.0",
            "nbclient>=0.7",
            "nbformat>=5.7",
            "ipykernel>=6",
            "websocket-client>=1.5",
            "setuptools>=61",
            "packaging>=21",
            "pandas>=1.5",
            "zarr>=3",
            "lime>=0.2",
            "shap>=0.42",
            "scikit-image>=0.19",
            "ray[data]>=2.50",
            "nibabel>=5",
            # What `import keras_hub` needs of keras-hub's requirements: the README's test command
            # installs keras-hub and tf-keras with --no-deps (tensorflow-text, a keras-hub requirement,
            # requires the `tensorflow` distribution by name and would lay a second build over
            # tensorflow-cpu); kagglehub only downloads presets, which the tests never do (they build
            # models offline from constructor arguments).
            "regex",
            "sentencepiece",
            "tokenizers",
        ],
        # explain_dataset / open_results / `eli5-keras explain --out maps.zarr` write and read Zarr
        # v3 stores. An extra, not a base requirement: zarr 3 needs Python >= 3.11 (this package
        # runs on 3.10), and explaining arrays in memory needs no store.
        "datasets": ["zarr>=3"],
        # segments="quickshift" / "slic" (LIME, KernelSHAP) call scikit-image. An extra: grids,
        # label arrays and user functions need nothing, and scikit-image pulls scipy and more.
        "superpixels": ["scikit-image>=0.19"],
        # eli5_keras.ray / `eli5-keras explain --engine ray`: explanations on a Ray actor pool.
        # Ray Data's ActorPoolStrategy(size=...) as `compute=` (its replacement of the deprecated
        # `concurrency=`); an extra because Ray is a ~80 MB wheel with daemons most users never need.
        "ray": ["ray[data]>=2.50", "zarr>=3"],
        # NIfTI volumes (.nii, .nii.gz) as inputs and `--format nii` outputs: nibabel reads them
        # lazily and writes maps with the scan's affine; the AUCMEDI facade's xai_decoder writes
        # its .nii/.nii.gz volume pictures with it.
        "nifti": ["nibabel>=5"],
        # show_prediction returns IPython HTML for explanations without an image.
        "notebook": ["ipython>=7"],
        "bench": ["eli5==0.16.0"],
    },
)
