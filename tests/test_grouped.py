"""Grouped steps (many batches per XLA call) train exactly as batch by batch."""

import pickle

import numpy as np
import pytest

from skdigits import KerasMLPClassifier, _grouped, _training

NO_RULES = {
    "validation_fraction": 0,
    "lr_patience": None,
    "patience": None,
    "target_accuracy": None,
}


@pytest.mark.parametrize(
    ("batch_size", "n_samples", "group"),
    [
        (128, 60000, 64),
        (1, 60000, 8192),
        (32, 100, 4),
        (10000, 60000, 1),
        (500, 500, 1),
    ],
)
def test_group_size(batch_size, n_samples, group):
    assert _grouped.group_size(batch_size, n_samples) == group


def test_groups_hold_the_rows_of_the_batches_in_order(monkeypatch):
    # 10 rows at batch 3: batches 3+3+3+1; groups of 2 batches, so the
    # second group holds one real batch of 3 and a short one of 1.
    monkeypatch.setattr(_grouped, "GROUP_ROWS", 6)
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    w = np.linspace(1, 2, 10, dtype=np.float32)
    plain = iter(_training.make_dataset((X, w), 3, seed=7).repeat(2))
    dataset, steps = _grouped.make_grouped_dataset((X, w), 3, seed=7)
    assert steps == 2
    grouped = iter(dataset)
    for _ in range(2):  # two epochs: a new order each, the same in both
        expected = np.concatenate([next(plain)[0].numpy() for _ in range(4)])
        rows = []
        for _ in range(2):
            x, w_group, n_real = (t.numpy() for t in next(grouped))
            assert x.shape == (2, 3, 2) and w_group.shape == (2, 3)
            rows.append(x.reshape(-1, 2)[:n_real])
        assert [len(r) for r in rows] == [6, 4]
        np.testing.assert_array_equal(np.concatenate(rows), expected)


@pytest.mark.parametrize(
    ("batch_size", "seed"), [(3, 7), (3, None), (10, 7)], ids=["mini", "val", "batch"]
)
def test_input_pipelines_do_not_autotune(batch_size, seed):
    # An autotuned iterator stalled the next epoch's start by seconds when
    # Keras deleted it (see without_autotune).
    arrays = (np.zeros((10, 2), np.float32), np.ones(10, np.float32))
    dataset = _training.make_dataset(arrays, batch_size, seed)
    assert dataset.options().autotune.enabled is False


def test_grouped_pipeline_does_not_autotune():
    arrays = (np.zeros((10, 2), np.float32), np.ones(10, np.float32))
    dataset, _ = _grouped.make_grouped_dataset(arrays, 3, seed=7)
    assert dataset.options().autotune.enabled is False


def _fit(monkeypatch, grouped, X, y, w):
    # XLA (and with it the grouped steps) from the first step, or never.
    monkeypatch.setattr(_training, "MIN_STEPS_FOR_XLA", 0 if grouped else 10**9)
    # 4 batches of 32 per group: 600 rows make 19 batches (the last of 24
    # rows), so the last group is padded and ends in a short batch.
    monkeypatch.setattr(_grouped, "GROUP_ROWS", 128)
    est = KerasMLPClassifier(batch_size=32, epochs=3, random_state=0, **NO_RULES)
    est.fit(X, y, sample_weight=w)
    assert est.model_.jit_compile is grouped
    assert ("train_step" in vars(est.model_)) is grouped
    return est


def test_grouped_steps_train_as_batch_by_batch(monkeypatch, digits):
    X, _, y, _ = digits
    X, y = X[:600], y[:600]
    w = np.random.RandomState(0).uniform(0.5, 2, len(y))
    a = _fit(monkeypatch, True, X, y, w)
    b = _fit(monkeypatch, False, X, y, w)
    # The same steps on the same rows; only XLA's float rounding differs.
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(a.history_[key], b.history_[key], rtol=1e-4)
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=1e-4)
    assert int(a.model_.optimizer.iterations) == int(b.model_.optimizer.iterations)


def test_grouped_model_pickles_and_trains_on(monkeypatch, digits):
    X, X_test, y, _ = digits
    monkeypatch.setattr(_training, "MIN_STEPS_FOR_XLA", 0)
    est = KerasMLPClassifier(epochs=2, random_state=0, **NO_RULES).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), est.predict_proba(X_test)
    )
    # The loaded model is again XLA-compiled: partial_fit runs grouped steps.
    steps = int(loaded.model_.optimizer.iterations)
    loaded.partial_fit(X[:100], y[:100])
    assert "train_step" in vars(loaded.model_)
    assert int(loaded.model_.optimizer.iterations) == steps + 1  # one batch
