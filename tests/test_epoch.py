"""The MLP's epoch engine trains exactly as Keras's own loop, batch by batch."""

import keras
import numpy as np
import pytest

from skdigits import _epoch, _reuse, build_mlp


@pytest.mark.parametrize(
    ("n", "multiple", "rows"),
    [(1, 1, 1), (15, 1, 15), (17, 1, 18), (1212, 32, 1280), (54000, 128, 57344)],
)
def test_bucket(n, multiple, rows):
    got = _epoch.bucket(n, multiple)
    assert got == rows
    assert got % multiple == 0 and n <= got <= n * 1.125 + multiple


def _order(n, seed, epoch):
    return _epoch.epoch_order(n, n, seed, epoch)


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("batch_size", [4, 10, 23])
def test_epoch_step_equals_keras_batches(batch_size, jit):
    # 23 rows: batches of 4 end in a short batch of 3; 23 is batch GD.
    rng = np.random.RandomState(0)
    X = rng.rand(23, 8).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.randint(0, 3, 23)]
    w = rng.uniform(0.5, 2, 23).astype(np.float32)
    X_val, Y_val = X[:7], Y[:7]
    w_val = np.ones(7, np.float32)
    start = build_mlp(8, 3, hidden_layer_sizes=(5,), l2=0.01, seed=0)
    ours = build_mlp(8, 3, hidden_layer_sizes=(5,), l2=0.01, seed=0)
    ours.set_weights(start.get_weights())
    ours.compile(optimizer=keras.optimizers.Adam(0.01))
    train_epoch = _epoch.epoch_function(
        ours, keras.losses.CategoricalCrossentropy(), batch_size, True, jit
    )
    inputs, rows = _epoch.epoch_inputs((X, Y, w), (X_val, Y_val, w_val), batch_size)
    orders = [_epoch.epoch_order(23, rows, 5, e) for e in range(2)]
    logs = _epoch.run_epochs(ours, train_epoch, inputs, orders, range(2), []).history

    keras_model = build_mlp(8, 3, hidden_layer_sizes=(5,), l2=0.01, seed=0)
    keras_model.set_weights(start.get_weights())
    keras_model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.CategoricalCrossentropy(),
        weighted_metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    for epoch in range(2):
        order = _order(23, 5, epoch)
        expected = keras_model.fit(
            X[order],
            Y[order],
            sample_weight=w[order],
            batch_size=batch_size,
            shuffle=False,
            validation_data=(X_val, Y_val, w_val),
            verbose=0,
        ).history
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(logs[key][epoch], expected[key][0], rtol=2e-5)
    for a, b in zip(ours.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_order_is_a_new_permutation_each_epoch():
    first, second = _order(50, 3, 0), _order(50, 3, 1)
    assert sorted(first) == list(range(50)) == sorted(second)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, _order(50, 3, 0))


def test_trainer_restores_every_variable():
    # A reused trainer starts exactly where a new one does: weights, the
    # optimizer's slots and step count, and the learning rate.
    model = build_mlp(8, 3, hidden_layer_sizes=(5,), seed=1)

    def build():
        net = build_mlp(8, 3, hidden_layer_sizes=(5,), seed=0)
        net.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        return net

    trainer = _reuse.Trainer(build())
    X = np.random.RandomState(0).rand(20, 8).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[np.arange(20) % 3]
    trainer.load(model, None, 0.01)
    trainer.model.fit(X, Y, epochs=2, verbose=0)
    state = trainer.store(model)
    trained = [w.copy() for w in model.get_weights()]
    assert int(state[0]) > 0  # the iteration count moved
    fresh = build_mlp(8, 3, hidden_layer_sizes=(5,), seed=1)
    trainer.load(fresh, None, 0.5)
    for a, b in zip(trainer.model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(trainer.model.optimizer.iterations.numpy()) == 0
    assert float(trainer.model.optimizer.learning_rate.numpy()) == pytest.approx(0.5)
    # Given a saved state, it carries on from it.
    trainer.load(model, state, None)
    assert int(trainer.model.optimizer.iterations.numpy()) == int(state[0])
    np.testing.assert_array_equal(trainer.model.get_weights()[0], trained[0])
