"""The README's first command: the quickstart trains, explains and writes its report."""
from eli5_keras import quickstart


def test_quickstart_writes_overlays_and_points_at_the_square(tmp_path, capsys):
    assert quickstart.main(["--out", str(tmp_path), "--images", "8"]) == 0
    printed = capsys.readouterr().out
    accuracy = float(printed.split("test accuracy ")[1].split(";")[0])
    pointing = float(printed.split("pointing game ")[1].split(" ")[0])
    assert accuracy >= 0.9
    assert pointing >= 0.8
    assert len(list(tmp_path.glob("overlay_*.png"))) == 8
    assert "pointing game" in (tmp_path / "index.html").read_text()


def test_pointing_game_counts_argmax_inside_mask():
    import numpy as np

    maps = np.zeros((2, 4, 4))
    maps[0, 1, 1] = 1.0
    maps[1, 3, 3] = 1.0
    masks = np.zeros((2, 4, 4), bool)
    masks[:, :2, :2] = True
    assert quickstart.pointing_game(maps, masks) == 0.5
