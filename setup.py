from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

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
    install_requires=[
        "tensorflow-cpu>=2.16; platform_machine != 'arm64' and platform_system != 'Darwin'",
        "tensorflow>=2.16; platform_system == 'Darwin'",
        "keras>=3.0",
        "numpy>=1.23",
        "pillow>=9.1",
        "matplotlib>=3.5",
        "jinja2>=3.0",
        "markupsafe>=2.0",
    ],
    extras_require={
        # eli5 0.16 is the reference the compatibility tests compare numbers against;
        # nbclient, nbformat and ipykernel execute docs/tutorial.ipynb in a real kernel;
        # websocket-client drives headless Chromium (DevTools protocol) to check the report;
        # pytest-xdist runs the suite in two processes (most of its time is single-threaded
        # graph tracing, so two workers halve the wall time on two cores).
        "test": [
            "pytest>=7",
            "pytest-xdist>=3",
            "eli5==0.16.0",
            "nbclient>=0.7",
            "nbformat>=5.7",
            "ipykernel>=6",
            "websocket-client>=1.5",
        ],
        # show_prediction returns IPython HTML for explanations without an image.
        "notebook": ["ipython>=7"],
        "bench": ["eli5==0.16.0"],
    },
)
