"""Tokens of text explanations: validation, padding masks, documents and spans."""
import dataclasses

import numpy as np
import pytest

from eli5_keras.base import DocWeightedSpans, WeightedSpans
from eli5_keras.utils.tokens import (
    as_token_rows,
    check_padding,
    default_tokens,
    join_tokens,
    keep_mask,
    weighted_spans,
)


def test_words_are_joined_with_spaces_and_spans_index_the_document():
    tokens = ["the", "<script>", "", "movie", "was", "good"]
    document, ranges = join_tokens(tokens)
    assert document == "the <script>  movie was good"
    assert [document[s:e] for s, e in ranges] == tokens
    assert ranges[0] == (0, 3) and ranges[1] == (4, 12) and ranges[2] == (13, 13)


def test_characters_are_joined_without_separator():
    document, ranges = join_tokens(list("a b!"))
    assert document == "a b!"
    assert ranges == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_weighted_spans_have_eli5_structure():
    ws = weighted_spans(["good", "movie", "good"], np.array([0.5, -0.25, 1.0], np.float32))
    assert isinstance(ws, WeightedSpans) and ws.other is None
    (doc,) = ws.docs_weighted_spans
    assert doc == DocWeightedSpans(
        "good movie good", spans=[("good", [(0, 4)], 0.5), ("movie", [(5, 10)], -0.25), ("good", [(11, 15)], 1.0)]
    )
    assert all(type(w) is float for _, _, w in doc.spans)
    assert doc.preserve_density is None and doc.with_probabilities is None and doc.vec_name is None
    with pytest.raises(ValueError, match="3 tokens but 2 weights"):
        weighted_spans(["a", "b", "c"], [1.0, 2.0])


def test_span_classes_keep_eli5_fields_in_order():
    eli5_base = pytest.importorskip("eli5.base", reason="eli5 0.16 is the parity reference")
    import attr

    for ours, theirs in [(WeightedSpans, eli5_base.WeightedSpans), (DocWeightedSpans, eli5_base.DocWeightedSpans)]:
        assert [f.name for f in dataclasses.fields(ours)] == [a.name for a in attr.fields(theirs)]
        ours_defaults = ["required" if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(ours)]
        theirs_defaults = ["required" if a.default is attr.NOTHING else a.default for a in attr.fields(theirs)]
        assert ours_defaults == theirs_defaults


@pytest.mark.parametrize(
    "tokens",
    [["a", "b", "c"], ("a", "b", "c"), np.array(["a", "b", "c"]), [["a", "b", "c"]], np.array([["a", "b", "c"]])],
)
def test_one_document_batched_or_not(tokens):
    assert as_token_rows(tokens, 1, 3) == [["a", "b", "c"]]


def test_a_batch_of_documents():
    rows = as_token_rows([["a", "b"], np.array(["c", "d"])], 2, 2)
    assert rows == [["a", "b"], ["c", "d"]]
    assert all(type(t) is str for row in rows for t in row)
    assert as_token_rows(np.array([["a", "b"], ["c", "d"]], dtype=object), 2, 2) == rows


@pytest.mark.parametrize(
    "tokens,error,match",
    [
        ("a b c", TypeError, "tokens must be a sequence of str"),
        (3, TypeError, "tokens must be a list"),
        ([1, 2, 3], TypeError, "tokens must hold str tokens; got int 1"),
        (np.arange(3), TypeError, "tokens must hold str"),
        ([["a", "b", 3]], TypeError, r"tokens\[0\] must hold str"),
        ([], ValueError, "tokens is empty"),
        ([[]], ValueError, r"tokens\[0\] is empty"),
        (np.array([], dtype=str), ValueError, "tokens is empty"),
        (["a", "b"], ValueError, "tokens has 2 tokens, but the document has 3 positions"),
        ([["a", "b", "c"], ["a", "b", "c"]], ValueError, "batch of 2 token lists, but doc has 1"),
        (["a", ["b"], "c"], ValueError, "mixes strings and lists"),
        (np.zeros((1, 1, 3), dtype=str), ValueError, "1-D .* or 2-D"),
    ],
)
def test_token_errors_name_the_argument(tokens, error, match):
    with pytest.raises(error, match=match):
        as_token_rows(tokens, 1, 3)


def test_token_batch_errors():
    with pytest.raises(ValueError, match="one list of tokens, but doc has a batch of 2"):
        as_token_rows(["a", "b"], 2, 2)
    with pytest.raises(ValueError, match=r"tokens\[1\] has 1 tokens"):
        as_token_rows([["a", "b"], ["c"]], 2, 2)


def test_padding_arguments():
    check_padding(None, None, False)
    check_padding(0, None, False)
    check_padding(np.int64(3), None, False)
    check_padding(None, "<pad>", True)
    with pytest.raises(ValueError, match="either pad_value .* or pad_token"):
        check_padding(0, "<pad>", True)
    for bad in ("0", 0.0, True, [0]):
        with pytest.raises(TypeError, match="pad_value must be an int"):
            check_padding(bad, None, True)
    with pytest.raises(TypeError, match="use pad_token"):
        check_padding("<pad>", None, True)
    with pytest.raises(TypeError, match="pad_token must be a str.*use pad_value"):
        check_padding(None, 0, True)
    with pytest.raises(ValueError, match="pad_token='<pad>' needs tokens"):
        check_padding(None, "<pad>", False)


def test_keep_mask_finds_padding_anywhere():
    ids = np.array([0, 0, 5, 6, 0, 7, 0])
    tokens = ["<p>", "<p>", "a", "b", "<p>", "c", "<p>"]
    expected = [False, False, True, True, False, True, False]
    np.testing.assert_array_equal(keep_mask(ids, tokens, 0, None), expected)
    np.testing.assert_array_equal(keep_mask(ids, tokens, None, "<p>"), expected)
    np.testing.assert_array_equal(keep_mask(ids, None, None, None), [True] * 7)
    np.testing.assert_array_equal(keep_mask(ids, tokens, 9, None), [True] * 7)  # no padding present
    with pytest.raises(ValueError, match="pad_value applies to token ids"):
        keep_mask(np.zeros((7, 2)), tokens, 0, None)


def test_default_tokens_name_positions_by_id_or_number():
    assert default_tokens(np.array([[17, 0, 3], [1, 2, 3]])) == [["17", "0", "3"], ["1", "2", "3"]]
    assert default_tokens(np.zeros((2, 3, 4))) == [["0", "1", "2"]] * 2
