"""The training engine trains exactly as Keras's own loop, batch by batch:
each test runs Keras's ``fit`` on the same data as the reference."""

import collections

import keras
import numpy as np
import pytest

from skdigits import _engine, build_cnn, build_mlp
from skdigits import _plan as _plan_module


@pytest.mark.parametrize(
    ("n", "multiple", "rows"),
    [(1, 1, 1), (15, 1, 15), (17, 1, 18), (1212, 32, 1280), (54000, 128, 57344)],
)
def test_bucket(n, multiple, rows):
    got = _engine.bucket(n, multiple)
    assert got == rows
    assert got % multiple == 0 and n <= got <= n * 1.125 + multiple


def _order(n, seed, epoch):
    return _engine.epoch_order(n, n, seed, epoch)


def _keras_twin(build, start, **compile_args):
    model = build()
    model.set_weights(start.get_weights())
    model.compile(
        weighted_metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        **compile_args,
    )
    return model


def _plan(batch_size, steps, per_call, jit, epochs=2):
    return _plan_module.FitPlan(
        batch_size=batch_size,
        gd_variant="mini-batch",
        initial_epoch=0,
        epochs=epochs,
        steps_per_epoch=steps,
        steps_per_call=min(per_call, steps),
        jit_compile=jit,
    )


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("batch_size", [4, 10, 23])
@pytest.mark.parametrize("per_call", [1, 2, 100])
def test_engine_equals_keras_batches(batch_size, jit, per_call):
    # 23 rows: batches of 4 end in a short batch of 3; 23 is batch GD. The
    # calls run 1, 2 or all steps of an epoch.
    rng = np.random.RandomState(0)
    X = rng.rand(23, 8).astype(np.float32)
    labels = rng.randint(0, 3, 23)
    Y = np.eye(3, dtype=np.float32)[labels]
    w = rng.uniform(0.5, 2, 23).astype(np.float32)
    X_val, Y_val = X[:7], Y[:7]
    w_val = np.ones(7, np.float32)

    def build():
        return build_mlp(8, 3, hidden_layer_sizes=(5,), l2=0.01, seed=0)

    start = build()
    ours = build()
    ours.set_weights(start.get_weights())
    ours.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.CategoricalCrossentropy(),
        weighted_metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    trainer = _engine.Trainer(ours)
    plan = _plan(batch_size, -(-23 // batch_size), per_call, jit)
    train = _engine.Rows(X, Y, w, multiple=batch_size if jit else None)
    val = _engine.Rows(X_val, Y_val, w_val)
    logs = _engine.run(trainer, plan, train, val, [], seed=5).history

    keras_model = _keras_twin(
        build,
        start,
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.CategoricalCrossentropy(),
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


def _count_step_traces(monkeypatch):
    """Count the calls of Keras's own train_step and test_step (each call in
    a compiled function is a trace)."""
    traced = collections.Counter()

    def counting(name):
        original = getattr(keras.Model, name)

        def step(self, data):
            traced[name] += 1
            return original(self, data)

        return step

    for name in ("train_step", "test_step"):
        monkeypatch.setattr(keras.Model, name, counting(name))
    return traced


_SMALL = np.random.RandomState(0)
_X_SMALL = _SMALL.rand(40, 8).astype(np.float32)
_Y_SMALL = np.eye(3, dtype=np.float32)[_SMALL.randint(0, 3, 40)]


def _compile_small(model):
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="categorical_crossentropy",
        weighted_metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model


def _fit_small(model, epochs=2):
    plan = _plan(8, 5, 2, jit=False, epochs=epochs)
    rows = _engine.Rows(_X_SMALL, _Y_SMALL)
    val = _engine.Rows(_X_SMALL[:10], _Y_SMALL[:10])
    trainer = _engine.Trainer(_compile_small(model))
    return _engine.run(trainer, plan, rows, val, [], seed=0)


def test_keras_own_steps_are_traced_once(monkeypatch):
    # Keras's train_step and test_step return get_metrics_result(), so the
    # loop starts from its structure: one trace of each (a first step run
    # outside the loop, to learn the structure, would be a second).
    traced = _count_step_traces(monkeypatch)
    history = _fit_small(build_mlp(8, 3, hidden_layer_sizes=(5,), seed=0)).history
    assert traced == {"train_step": 1, "test_step": 1}
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


class ExtraLogs(keras.Sequential):
    # A train_step whose logs have a key that get_metrics_result() lacks.
    def train_step(self, data):
        logs = super().train_step(data)
        return {**logs, "twice_loss": 2 * logs["loss"]}


def _extra():
    layers = build_mlp(8, 3, hidden_layer_sizes=(5,), seed=0).layers
    return ExtraLogs([keras.Input((8,)), *layers])


def test_a_step_that_returns_other_logs_still_gives_them(monkeypatch):
    # An override may return any logs: its first step runs outside the loop
    # to learn their structure (two traces), and its logs reach the history
    # as model.fit gives them on the same batches.
    start = _extra()
    ours = _extra()
    ours.set_weights(start.get_weights())
    traced = _count_step_traces(monkeypatch)
    history = _fit_small(ours).history
    assert traced == {"train_step": 2, "test_step": 1}
    monkeypatch.undo()

    twin = _compile_small(_extra())
    twin.set_weights(start.get_weights())
    for epoch in range(2):
        order = _order(40, 0, epoch)
        expected = twin.fit(
            _X_SMALL[order],
            _Y_SMALL[order],
            batch_size=8,
            shuffle=False,
            validation_data=(_X_SMALL[:10], _Y_SMALL[:10]),
            verbose=0,
        ).history
        for key in ("loss", "twice_loss", "accuracy", "val_loss"):
            np.testing.assert_allclose(history[key][epoch], expected[key][0], rtol=2e-5)


def test_engine_trains_batch_norm_on_the_real_rows_of_a_short_batch():
    # Without XLA the last batch is short, as Keras's: a padded one would
    # feed zeros into the batch statistics of BatchNormalization.
    rng = np.random.RandomState(1)
    X = rng.rand(21, 64).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.randint(0, 3, 21)]

    def build():
        return build_cnn((8, 8), 3, filters=(4,), noise_std=0, shift=0, seed=0)

    start = build()
    ours = build()
    ours.set_weights(start.get_weights())
    ours.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    plan = _plan_module.make_plan(batch_size=8, epochs=1, n_samples=21)
    _engine.run(_engine.Trainer(ours), plan, _engine.Rows(X, Y), None, [], 3)
    twin = _keras_twin(
        build,
        start,
        optimizer=keras.optimizers.SGD(0.1),
        loss="categorical_crossentropy",
    )
    order = _order(21, 3, 0)
    twin.fit(X[order], Y[order], batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_order_is_a_new_permutation_each_epoch():
    first, second = _order(50, 3, 0), _order(50, 3, 1)
    assert sorted(first) == list(range(50)) == sorted(second)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, _order(50, 3, 0))


def test_trainer_restores_every_variable():
    # A reused trainer starts exactly where a new one does: weights, the
    # optimizer's slots and step count, and the learning rate.
    model = build_mlp(8, 3, hidden_layer_sizes=(5,), seed=1)
    net = build_mlp(8, 3, hidden_layer_sizes=(5,), seed=0)
    net.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    trainer = _engine.Trainer(net)
    X = np.random.RandomState(0).rand(20, 8).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[np.arange(20) % 3]
    trainer.load(model, None, 0.01)
    trainer.model.fit(X, Y, epochs=2, verbose=0)
    state = trainer.optimizer_state()
    _engine.assign_weights(model, trainer.weights())
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


def test_trainer_key_ignores_names_and_seeds_but_not_layers():
    a = build_mlp(64, 10, seed=1)
    b = build_mlp(64, 10, seed=2)  # other seeds, other layer names
    c = build_mlp(64, 10, hidden_layer_sizes=(7,), seed=1)
    key = _engine.trainer_key
    assert key(a, (64,), {}) == key(b, (64,), {})
    assert key(a, (64,), {}) != key(c, (64,), {})
    assert key(a, (64,), {}) != key(a, (64,), {"loss": "mse"})
