"""The training-rule callbacks, on a plain Keras model.

Most tests drive ``on_epoch_end`` with chosen logs, so each rule is checked
on an exact sequence of accuracies; one test trains a real model.
"""

import gc
import math
import weakref

import keras
import numpy as np
import pytest

from skdigits import KerasMLPClassifier
from skdigits.callbacks import BestModel, EarlyExit, LearningRateDrop


@pytest.fixture
def model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss="mse",
        metrics=["accuracy", "mae"],
    )
    # Built metrics, as at the end of a first epoch: "auto" modes resolve
    # from them, as Keras's own callbacks do.
    model.evaluate(np.zeros((2, 3)), np.eye(2), verbose=0)
    return model


def run(callback, model, accuracies, losses=None):
    """Feed one epoch of logs per accuracy; stop when the callback says so."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    logs_seen = []
    for epoch, acc in enumerate(accuracies):
        loss = 1.0 if losses is None else losses[epoch]
        logs = {"loss": loss, "val_accuracy": acc}
        callback.on_epoch_end(epoch, logs)
        logs_seen.append(logs)
        if model.stop_training:
            break
    callback.on_train_end()
    return logs_seen


def lr(model):
    return float(model.optimizer.learning_rate.numpy())


class TestLearningRateDrop:
    def test_drops_after_patience_and_resets_count(self, model):
        rule = LearningRateDrop(patience=2, factor=0.5, min_lr=0)
        # best at epoch 1, then 2 flat epochs -> drop after epoch 3; the
        # count restarts, so the next drop comes 2 epochs later (epoch 5).
        run(rule, model, [0.5, 0.5, 0.4, 0.5, 0.5])
        assert rule.drops_ == [(3, pytest.approx(0.05)), (5, pytest.approx(0.025))]
        assert lr(model) == pytest.approx(0.025)

    def test_improvement_resets_count(self, model):
        rule = LearningRateDrop(patience=2, factor=0.5)
        run(rule, model, [0.5, 0.5, 0.6, 0.6, 0.7])
        assert rule.drops_ == []

    def test_flat_plateau_is_not_progress(self, model):
        # The zoo's >= would count equal accuracies as improvement forever.
        rule = LearningRateDrop(patience=3, factor=0.5)
        run(rule, model, [0.9] * 4)
        assert len(rule.drops_) == 1

    def test_clamps_at_min_lr_and_stops_dropping(self, model):
        rule = LearningRateDrop(patience=1, factor=0.1, min_lr=0.003)
        run(rule, model, [0.5, 0.4, 0.4, 0.4, 0.4])
        assert lr(model) == pytest.approx(0.003)
        # 0.1 -> 0.01 -> clamped 0.003 (not 0.001), then no more drops.
        assert [new for _, new in rule.drops_] == pytest.approx([0.01, 0.003])

    def test_logs_learning_rate_of_the_epoch(self, model):
        rule = LearningRateDrop(patience=1, factor=0.5)
        logs = run(rule, model, [0.5, 0.4, 0.4])
        assert [entry["learning_rate"] for entry in logs] == pytest.approx(
            [0.1, 0.1, 0.05]
        )

    def test_missing_monitor_is_a_clear_error(self, model):
        rule = LearningRateDrop(monitor="val_acc")
        rule.set_model(model)
        rule.on_train_begin()
        with pytest.raises(ValueError, match="val_acc"):
            rule.on_epoch_end(0, {"loss": 1.0, "val_accuracy": 0.5})

    @pytest.mark.parametrize(
        "kwargs",
        [{"patience": 0}, {"factor": 1.0}, {"factor": 0}, {"min_lr": -1}],
    )
    def test_bad_arguments(self, kwargs):
        with pytest.raises(ValueError):
            LearningRateDrop(**kwargs)

    def test_schedule_is_rejected(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
        model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
        rule = LearningRateDrop(patience=1, mode="max")
        with pytest.raises(TypeError, match="LearningRateSchedule"):
            run(rule, model, [0.5, 0.4])


class TestEarlyExit:
    def test_stops_at_target(self, model):
        rule = EarlyExit(target=0.9, patience=None)
        logs = run(rule, model, [0.5, 0.91, 0.95])
        assert (rule.stop_reason_, rule.stopped_epoch_, len(logs)) == (
            "target_accuracy",
            2,
            2,
        )

    def test_converges_after_patience(self, model):
        rule = EarlyExit(target=None, patience=3)
        logs = run(rule, model, [0.5, 0.6, 0.6, 0.55, 0.6, 0.99])
        assert (rule.stop_reason_, len(logs)) == ("converged", 5)

    def test_convergence_reachable_within_default_epochs(self, model):
        rule = EarlyExit()  # patience 10: a plateau from epoch 1 stops at 11
        logs = run(rule, model, [0.5] * 20)
        assert (rule.stop_reason_, len(logs)) == ("converged", 11)

    def test_max_epochs(self, model):
        rule = EarlyExit(target=None, patience=None)
        run(rule, model, [0.1, 0.2, 0.3])
        assert rule.stop_reason_ == "max_epochs"
        assert rule.stopped_epoch_ is None

    @pytest.mark.parametrize("bad", [math.nan, math.inf])
    def test_nan_restores_last_good_weights(self, model, bad):
        rule = EarlyExit()
        rule.set_model(model)
        model.stop_training = False
        rule.on_train_begin()
        rule.on_epoch_end(0, {"loss": 1.0, "val_accuracy": 0.5})
        good = [w.copy() for w in model.get_weights()]
        model.set_weights([np.full_like(w, np.nan) for w in good])
        rule.on_epoch_end(1, {"loss": bad, "val_accuracy": 0.1})
        assert model.stop_training
        assert rule.stop_reason_ == "nan"
        for restored, expected in zip(model.get_weights(), good, strict=True):
            np.testing.assert_array_equal(restored, expected)

    @pytest.mark.parametrize(
        "kwargs",
        [{"target": math.nan}, {"target": "high"}, {"patience": 0}, {"mode": "up"}],
    )
    def test_bad_arguments(self, kwargs):
        with pytest.raises(ValueError):
            EarlyExit(**kwargs)


class TestBestModel:
    def test_restores_best_weights(self, model):
        rule = BestModel()
        rule.set_model(model)
        rule.on_train_begin()
        rule.on_epoch_end(0, {"loss": 1.0, "val_accuracy": 0.5})
        model.set_weights([w + 1 for w in model.get_weights()])
        rule.on_epoch_end(1, {"loss": 1.0, "val_accuracy": 0.8})
        best = [w.copy() for w in model.get_weights()]
        model.set_weights([w + 1 for w in best])
        rule.on_epoch_end(2, {"loss": 1.0, "val_accuracy": 0.8})  # not strictly
        assert (rule.best_epoch_, rule.best_) == (2, pytest.approx(0.8))
        rule.on_train_end()
        for restored, expected in zip(model.get_weights(), best, strict=True):
            np.testing.assert_array_equal(restored, expected)

    def test_restore_false_keeps_last_weights(self, model):
        rule = BestModel(restore=False)
        run(rule, model, [0.9])
        last = [w.copy() for w in model.get_weights()]
        model.set_weights([w + 1 for w in last])
        rule.on_train_end()
        np.testing.assert_array_equal(model.get_weights()[0], last[0] + 1)

    def test_non_finite_epoch_is_never_best(self, model):
        rule = BestModel()
        run(rule, model, [0.2, 0.9], losses=[1.0, math.nan])
        assert rule.best_epoch_ == 1

    def test_saves_best_model(self, model, tmp_path):
        path = tmp_path / "sub" / "best.keras"
        rule = BestModel(filepath=path)
        run(rule, model, [0.5, 0.7, 0.6])
        loaded = keras.saving.load_model(path)
        # Saved at epoch 2, the best: its weights are what was restored.
        for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)

    def test_filepath_must_be_keras(self):
        with pytest.raises(ValueError, match=".keras"):
            BestModel(filepath="best.h5")
        with pytest.raises(TypeError):
            BestModel(filepath=3)


def test_rules_on_a_real_keras_fit():
    # Centred features and a fixed Keras seed: the weights the suite's earlier
    # tests left the global seed at must not decide whether 0.9 is reached
    # (uncentred features stalled below it on Keras 3.3 once the rate drops).
    keras.utils.set_random_seed(0)
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4).astype("float32")
    Y = np.eye(2, dtype="float32")[(X[:, 0] > 0).astype(int)]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, "softmax")])
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    drop = LearningRateDrop(monitor="accuracy", patience=1, factor=0.5)
    exit_rule = EarlyExit(monitor="accuracy", target=0.9, patience=20)
    best = BestModel(monitor="accuracy")
    history = model.fit(X, Y, epochs=50, verbose=0, callbacks=[drop, exit_rule, best])
    assert exit_rule.stop_reason_ == "target_accuracy"
    assert history.history["accuracy"][-1] >= 0.9
    assert len(history.history["learning_rate"]) == len(history.epoch)


@pytest.mark.parametrize(
    ("monitor", "values", "best_epoch"),
    [
        ("val_mae", [0.5, 0.3, 0.4, 0.35], 2),  # an error: lower is better
        ("val_accuracy", [0.5, 0.3, 0.4, 0.35], 1),
        ("val_loss", [0.5, 0.3, 0.4, 0.35], 2),
    ],
)
def test_auto_mode_resolves_as_keras_early_stopping(model, monitor, values, best_epoch):
    # Keras's own EarlyStopping, run first on the same logs, is the reference.
    reference = keras.callbacks.EarlyStopping(monitor=monitor, patience=100)
    reference.set_model(model)
    reference.on_train_begin()
    ours = BestModel(monitor=monitor, restore=False)
    ours.set_model(model)
    ours.on_train_begin()
    for epoch, value in enumerate(values):
        logs = {"loss": 1.0, "val_loss": 1.0, monitor: value}
        reference.on_epoch_end(epoch, logs)
        ours.on_epoch_end(epoch, logs)
    assert float(reference.best) == pytest.approx(values[best_epoch - 1])
    assert ours.best_epoch_ == best_epoch
    assert ours.best_ == pytest.approx(float(reference.best))


def test_explicit_mode_and_unknown_metric(model):
    rule = EarlyExit(monitor="val_accuracy", target=0.2, patience=None, mode="min")
    run(rule, model, [0.5, 0.3, 0.1])
    assert (rule.stop_reason_, rule.stopped_epoch_) == ("target_accuracy", 3)
    # A name Keras cannot place is Keras's own error, at the first epoch end.
    unknown = BestModel(monitor="val_score")
    unknown.set_model(model)
    unknown.on_train_begin()
    with pytest.raises(ValueError, match="maximized or minimized"):
        unknown.on_epoch_end(0, {"loss": 1.0, "val_score": 0.5})


def test_reprs_show_the_parameters():
    assert repr(LearningRateDrop(patience=2)) == (
        "LearningRateDrop(monitor='val_accuracy', patience=2, factor=0.1, "
        "min_lr=1e-06, verbose=0, mode='auto')"
    )
    assert repr(EarlyExit(target=None)) == (
        "EarlyExit(monitor='val_accuracy', target=None, patience=10, verbose=0, "
        "mode='auto')"
    )
    assert repr(BestModel(filepath="b.keras")) == (
        "BestModel(monitor='val_accuracy', filepath='b.keras', restore=True, "
        "verbose=0, mode='auto')"
    )
    # In an estimator's repr, a callback reads as what it is.
    est = KerasMLPClassifier(callbacks=[EarlyExit(patience=3)])
    assert "callbacks=[EarlyExit(monitor='val_accuracy'" in repr(est)


def test_weight_snapshots_are_copies_read_in_one_call(model):
    from skdigits import callbacks

    snapshot = callbacks._weights(model)
    expected = model.get_weights()
    assert len(snapshot) == len(expected)
    for got, want in zip(snapshot, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    # Training after the snapshot leaves it as it was.
    X = np.ones((4, 3), np.float32)
    model.fit(X, np.eye(2, dtype=np.float32)[[0, 1, 0, 0]], epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], expected[0])
    np.testing.assert_array_equal(snapshot[0], expected[0])
    # One reader per model, dropped with the model.
    assert model in callbacks._readers
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    callbacks._weights(other)
    assert other in callbacks._readers
    other = weakref.ref(other)
    gc.collect()
    assert other() is None
