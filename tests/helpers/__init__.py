"""Shared pieces of the test suite, grouped by job (imported as ``helpers.<module>``;
``tests/`` is on ``sys.path`` because pytest's default ``prepend`` import mode inserts
the folder of the root ``conftest.py``, which has no ``__init__.py`` above it).

* :mod:`helpers.data` - inputs: images, signals, volumes and their sizes.
* :mod:`helpers.models` - tiny Keras model builders (``conftest.py`` wraps them as
  session fixtures).
* :mod:`helpers.reference` - independent references in plain TF / numpy, never
  eli5_keras.
* :mod:`helpers.checks` - shared assertions on eli5_keras results and compiled graphs.
* :mod:`helpers.methods` - the method registry seen by the tests (families, fast
  options) and two tiny test methods.
* :mod:`helpers.text` - the text task, its models and its reference.
* :mod:`helpers.html_parsing`, :mod:`helpers.chromium` - reading HTML reports, and
  rendering them in a headless browser.
* :mod:`helpers.cli` - the command-line tests' console script, model and inputs.

No module here is named ``test_*.py``, so pytest collects nothing from this package.
"""
