"""popaudit._kernels.resample: compact resampling weights and labels drawn in chunks."""

import numpy as np

from popaudit._kernels import resample as rs


def test_compact_counts_are_the_eager_counts_and_leave_the_generator_alike():
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    eager = rs.bootstrap_counts(r1, 1000, 50)
    compact = rs.compact_bootstrap_counts(r2, 1000, 50)
    assert compact.counts.dtype == np.uint8 and compact.shape == (50, 1000)
    np.testing.assert_array_equal(np.asarray(compact), eager)
    assert r1.random() == r2.random()
    w = np.random.default_rng(0).uniform(0.1, 3, 1000)
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    eager = rs.multinomial_counts(r1, 700, w, 30)
    compact = rs.compact_multinomial_counts(r2, 700, w, 30, chunk_bytes=3 * 8 * 1000)  # 3 rows
    np.testing.assert_array_equal(np.asarray(compact), eager)
    assert r1.random() == r2.random()


def test_count_draws_views_and_scales():
    w = np.linspace(0.5, 2.0, 100)
    d = rs.compact_bootstrap_counts(np.random.default_rng(1), 100, 10) * w
    full = np.asarray(d)
    np.testing.assert_array_equal(full, d.counts * w)
    view = d[2:5]
    assert isinstance(view, rs.CountDraws) and view.shape == (3, 100) and len(view) == 3
    np.testing.assert_array_equal(np.asarray(view), full[2:5])
    np.testing.assert_array_equal(d[:, :3], full[:, :3])
    np.testing.assert_array_equal(np.asarray(2.0 * d[1:2]), 2.0 * full[1:2])
    big = rs._compact([np.array([[1, 300]]), np.array([[70000, 2]])], 2, 2)
    assert big.dtype == np.uint32 and big.tolist() == [[1, 300], [70000, 2]]


def test_split_labels_are_the_ranks_of_uniform_keys():
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    keys = r1.random((20, 900))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1) < 400
    labels = rs.split_labels(r2, 900, 400, 20, chunk_bytes=16 * 900 * 3)  # 3 draws a chunk
    np.testing.assert_array_equal(labels, ranks)
    assert r1.random() == r2.random()
    assert (labels.sum(axis=1) == 400).all()
