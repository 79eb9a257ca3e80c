"""``eli5-keras methods`` lists every method with its one-line summary."""
from eli5_keras import methods

from cli_helpers import run_cli


def test_lists_every_available_method_with_its_summary():
    proc = run_cli("methods")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(methods.available())
    for line, (name, summary) in zip(lines, methods.describe().items()):
        assert line.split()[0] == name and line.endswith(summary)
