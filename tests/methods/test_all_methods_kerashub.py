"""Every registered method on KerasHub's ViTImageClassifier (its blocks inside the encoder
layer; built offline with random weights): each runs with the automatic layer and gives
maps of the input's shape with the model's own scores, or says why it does not apply
(see test_all_methods_vit.py, which also covers the hand-built ViT)."""
import pytest

from eli5_keras import methods

from helpers.vit import check_method_on_vit


@pytest.mark.parametrize("method", methods.available())
def test_every_method_on_kerashub_vit(kerashub_vit, method):
    check_method_on_vit(kerashub_vit, method)
