"""Choosing the layer of a text model: sequence layers, then temporal pooling, then the embedding."""
import keras
import pytest

from eli5_keras.backend.layers import auto_layer, auto_text_layer, is_text_model, path_name, resolve_layer

L = keras.layers
LENGTH = 10


def token_model(*layers, name="text"):
    """Token ids (N, 10) -> Embedding 'emb' -> layers -> Dense(2, softmax)."""
    inp = keras.Input((LENGTH,), dtype="int32")
    h = L.Embedding(20, 4, name="emb")(inp)
    for layer in layers:
        h = layer(h)
    if len(h.shape) == 3:
        h = L.GlobalAveragePooling1D(name="gap")(h)
    return keras.Model(inp, L.Dense(2, activation="softmax", name="out")(h), name=name)


@pytest.mark.parametrize(
    "layers,expected",
    [
        # the last sequence layer, not the dropout after it (the image rule would take the dropout)
        ([L.Conv1D(3, 3, padding="same", name="c1"), L.Conv1D(3, 3, name="c2"), L.Dropout(0.1, name="drop")], "c2"),
        ([L.LSTM(3, return_sequences=True, name="rnn")], "rnn"),
        ([L.GRU(3, return_sequences=True, name="gru"), L.SimpleRNN(3, name="last_state")], "gru"),
        ([L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi")], "bi"),
        ([L.Conv1D(3, 3, name="conv"), L.MaxPooling1D(2, name="pool")], "conv"),
        # a recurrent layer returning only its last state has no time axis: pooling, then embedding
        ([L.Dense(3, name="proj"), L.AveragePooling1D(2, name="pool"), L.LSTM(3, name="state")], "pool"),
        ([L.LSTM(3, name="state")], "emb"),
        ([L.Flatten(name="flat")], "emb"),
        # a Conv1D reduced to one step is not a sequence
        ([L.Conv1D(3, 3, padding="same", name="c1"), L.Conv1D(3, LENGTH, name="point")], "c1"),
    ],
)
def test_text_rule(layers, expected):
    model = token_model(*layers)
    assert is_text_model(model)
    assert path_name(auto_text_layer(model)) == expected
    assert auto_layer(model) == auto_text_layer(model) == resolve_layer(model, None)


def test_nested_text_encoder():
    enc_in = keras.Input((LENGTH,), dtype="int32")
    h = L.Embedding(20, 4, name="emb")(enc_in)
    h = L.Conv1D(3, 3, name="enc_conv")(h)
    encoder = keras.Model(enc_in, h, name="encoder")
    inp = keras.Input((LENGTH,), dtype="int32")
    out = L.Dense(2)(L.GlobalMaxPooling1D()(encoder(inp)))
    model = keras.Model(inp, out)
    assert path_name(auto_layer(model)) == "encoder/enc_conv"


def test_no_text_layer_is_a_clear_error():
    inp = keras.Input((LENGTH,), dtype="int32")
    h = L.Lambda(lambda x: keras.ops.cast(x, "float32"))(inp)
    model = keras.Model(inp, L.Dense(2)(h), name="ids_to_dense")
    assert is_text_model(model)
    with pytest.raises(ValueError, match="ids_to_dense.*Conv1D, recurrent or bidirectional.*return_sequences=True"):
        auto_text_layer(model)


def test_image_and_signal_models_keep_the_image_rule(seq_model, signal_model, multi_input_model):
    assert not is_text_model(seq_model) and not is_text_model(signal_model)
    assert not is_text_model(multi_input_model)
    assert path_name(auto_layer(seq_model)) == "conv2"
    assert path_name(auto_layer(signal_model)) == "sig_conv2"
    # the text rule itself also applies to float sequences when asked for
    assert path_name(auto_text_layer(signal_model)) == "sig_conv2"
