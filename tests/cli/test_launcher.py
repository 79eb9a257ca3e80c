"""The console script's launcher: quiets TensorFlow's INFO lines for the command only."""
import os
import subprocess
import sys

import eli5_keras_cli


def test_importing_the_library_leaves_the_environment_alone():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = "import os, eli5_keras; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "None"


def test_the_command_hides_info_lines_by_default_only(monkeypatch, capsys):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert eli5_keras_cli.main(["methods"]) == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    assert "gradcam" in capsys.readouterr().out
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # a user's own setting wins
    assert eli5_keras_cli.main(["methods"]) == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
