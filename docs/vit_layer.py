"""Draw docs/vit_layer.png: where the automatic layer sits in a pre-norm ViT block.

    python docs/vit_layer.py

Boxes are the layers of the last block and the head; the highlighted box is the layer
``explain()`` picks (the output of the last block's first norm, which feeds the last
attention); the shaded part is where a class-token head gives the patch tokens exactly
zero gradient.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402

STEPS = [
    ("patch embedding\n+ class token", "plain"),
    ("blocks 1 .. N-1", "plain"),
    ("LayerNorm 1\n(block N)", "chosen"),
    ("MultiHeadAttention\n(block N)", "plain"),
    ("+ residual", "zero"),
    ("LayerNorm 2 -> MLP\n+ residual", "zero"),
    ("final LayerNorm", "zero"),
    ("class token\n-> Dense head", "plain"),
]
COLOURS = {"plain": "#e8eef7", "chosen": "#ffd166", "zero": "#f4cccc"}


def draw(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(12, 2.8), dpi=110)
    width, gap = 1.3, 0.22
    for i, (label, kind) in enumerate(STEPS):
        x = i * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 0.9), width, 0.9, boxstyle="round,pad=0.03", fc=COLOURS[kind],
                                    ec="#c58b00" if kind == "chosen" else "#44546a", lw=2 if kind == "chosen" else 1))
        ax.text(x + width / 2, 1.35, label, ha="center", va="center", fontsize=8)
        if i:
            ax.annotate("", (x, 1.35), (x - gap, 1.35), arrowprops=dict(arrowstyle="->", color="#44546a"))
    zero = [i for i, (_, kind) in enumerate(STEPS) if kind == "zero"]
    left, right = zero[0] * (width + gap) - 0.08, zero[-1] * (width + gap) + width + 0.08
    ax.add_patch(Rectangle((left, 0.55), right - left, 1.6, fc="none", ec="#c0392b", ls="--"))
    ax.text((left + right) / 2, 0.38, "patch tokens get zero gradient here (class-token head)",
            ha="center", fontsize=8, color="#c0392b")
    chosen = next(i for i, (_, kind) in enumerate(STEPS) if kind == "chosen") * (width + gap) + width / 2
    ax.text(chosen, 2.1, "automatic layer\n(its output)", ha="center", fontsize=8, color="#8a6100", weight="bold")
    ax.set_xlim(-0.2, len(STEPS) * (width + gap))
    ax.set_ylim(0.2, 2.5)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    draw(Path(__file__).with_name("vit_layer.png"))
