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


def test_early_tensorflow_info_lines_are_dropped_and_the_rest_kept():
    stderr = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796.807699   11416 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1796.831359    2480 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.\n"
        "To enable the following instructions: AVX2 FMA, rebuild TensorFlow.\n"
        "W0000 00:00:1796.9   11416 gpu.cc:1] no GPU found\n"
        "continued warning line\n"
        "E0000 00:00:1797.0   11416 io.cc:2] cannot read\n"
    )
    assert eli5_keras_cli.without_info_lines(stderr) == (
        "W0000 00:00:1796.9   11416 gpu.cc:1] no GPU found\n"
        "continued warning line\n"
        "E0000 00:00:1797.0   11416 io.cc:2] cannot read\n"
    )
    assert eli5_keras_cli.without_info_lines("Traceback (most recent call last):\n") == (
        "Traceback (most recent call last):\n"
    )


def test_the_console_script_prints_nothing_on_stderr_when_all_is_well(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    script = os.path.join(os.path.dirname(sys.executable), "eli5-keras")
    out = subprocess.run([script, "methods"], capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert out.stderr == "" and "gradcam" in out.stdout
