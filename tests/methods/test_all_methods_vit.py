"""Every registered method on vision transformers, one file per model (``--dist
loadfile``). This one: a hand-built functional ViT with a class token, for the methods
on the input (gradients, perturbations, their noise wrappers) and CAM; its layer methods
run in tests/test_vit.py (``test_every_layer_method_runs_on_the_token_grid``), its
attention methods in tests/methods/test_attention_*.py. KerasHub's ViT gets every method
in test_all_methods_kerashub.py. A method runs and gives maps of the input's shape with
the model's own scores, or says why it does not apply (CAM's head is not
GlobalAveragePooling -> Dense)."""
import pytest

from eli5_keras import methods

from helpers.vit import check_method_on_vit, vit

ON_THE_INPUT = [m for m in methods.available() if not methods.get(m).uses_layer]


@pytest.fixture(scope="module")
def hand_built_vit():
    return vit(prefix=1, head="token", seed=8)


@pytest.mark.parametrize("method", ON_THE_INPUT + ["cam"])
def test_every_method_on_a_hand_built_vit(hand_built_vit, method):
    check_method_on_vit(hand_built_vit, method)
