"""The block loops that bound expanded work by batch_size: results, and one block at a time."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.methods.base import concat_over_blocks, fold_over_blocks, sum_over_blocks


def loops(count, block):
    squares = lambda start, size: tf.reduce_sum(tf.cast(tf.range(start, start + size), tf.float32) ** 2)
    rows = lambda start, size: tf.cast(tf.range(start, start + size), tf.float32)[None, :] * tf.ones([2, 1])
    return (
        sum_over_blocks(squares, count, block, tf.constant(0.0)),
        concat_over_blocks(rows, count, block, axis=1),
        fold_over_blocks(squares, tf.maximum, count, block),
    )


@pytest.mark.parametrize("count, block", [(7, 3), (7, 7), (7, 100), (1, 1)])
def test_blocks_cover_every_item_once(count, block):
    total, rows, largest = tf.function(loops)(tf.constant(count), tf.constant(block))
    assert float(total) == sum(i * i for i in range(count))
    np.testing.assert_array_equal(rows.numpy(), np.tile(np.arange(count, dtype=np.float32), (2, 1)))
    starts = range(0, count, block)
    assert float(largest) == max(sum(i * i for i in range(s, min(s + block, count))) for s in starts)


def test_blocks_run_one_at_a_time():
    # TensorFlow's default parallel_iterations=10 would start later blocks while earlier ones
    # run (their work does not depend on the accumulator): up to 10 x batch_size in flight.
    graph = tf.function(loops).get_concrete_function(
        tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)).graph
    whiles = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")]
    assert len(whiles) == 3
    assert [op.get_attr("parallel_iterations") for op in whiles] == [1, 1, 1]
