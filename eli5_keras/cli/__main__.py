"""``python -m eli5_keras.cli ...`` runs the ``eli5-keras`` command."""
from .main import main

raise SystemExit(main())
