"""``eli5-keras methods`` lists every method with its one-line summary."""
from eli5_keras import methods
from eli5_keras.cli import main


def test_lists_every_available_method_with_its_summary(capsys):
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(methods.available())
    for line, (name, summary) in zip(lines, methods.describe().items()):
        assert line.split()[0] == name and line.endswith(summary)
