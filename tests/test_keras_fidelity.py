"""``KerasClassifier`` trains as Keras's own ``fit`` does.

The examples are those of Keras's guides "Customizing what happens in
fit()", "Writing your own callbacks" and "Training & evaluation with the
built-in methods", on the 8x8 digits. Each test runs ``model.fit`` first,
the reference, then ``KerasClassifier`` on a model with the same weights,
the same rows in the same order (``shuffle=False``), the same batch size
and the same epochs, and compares what the callbacks decided, the keys
logged and the values.

The tolerance: both run the model's own ``train_step`` on the same batches
in float32, so the histories agree to the last bit on the machines tried
(AMD EPYC, oneDNN on and off); ``RTOL`` leaves room for a kernel that fuses
differently inside the engine's multi-step call on another CPU, far below
what a different training would give (a different batch size or order
changes the first epoch's loss in the second decimal).
"""

import csv
import glob
import os
import pickle
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from skdigits import KerasClassifier

RTOL = 1e-4
EPOCHS = 6


@pytest.fixture(scope="module")
def data(digits):
    """Small training and validation sets of the digits, float32."""
    X_train, X_test, y_train, y_test = digits
    return (
        X_train[:400].astype("float32"),
        y_train[:400],
        X_test[:150].astype("float32"),
        y_test[:150],
    )


def sequential(kind=keras.Sequential, regularized=False):
    regularizer = keras.regularizers.L2(1e-3) if regularized else None
    return kind(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def functional(kind=keras.Model):
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    return kind(inputs, keras.layers.Dense(10, activation="softmax")(hidden))


def sparse_compile(model, **kwargs):
    model.compile(
        **{
            "optimizer": keras.optimizers.Adam(1e-3),
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
            **kwargs,
        }
    )


def twins(make, compile=sparse_compile):
    """The reference model and the one given to KerasClassifier: the same
    architecture and weights, compiled alike."""
    given = make()
    compile(given)
    reference = make()
    reference.set_weights(given.get_weights())
    compile(reference)
    return reference, given


def fit_both(
    data,
    make,
    compile=sparse_compile,
    *,
    callbacks=(),
    epochs=EPOCHS,
    validation=True,
    targets=None,
    sample_weight=None,
    **params,
):
    """``model.fit`` first, then ``KerasClassifier``; the reference model,
    its history and the fitted estimator. ``callbacks`` makes the callbacks
    of one fit (called once for each)."""
    X, y, X_val, y_val = data
    reference, given = twins(make, compile)
    to_targets = targets or (lambda labels: labels)
    validation_data = (X_val, to_targets(y_val)) if validation else None
    history = reference.fit(
        X,
        to_targets(y),
        batch_size=32,
        epochs=epochs,
        shuffle=False,
        validation_data=validation_data,
        sample_weight=sample_weight,
        callbacks=callbacks() if callable(callbacks) else list(callbacks),
        verbose=0,
    )
    clf = KerasClassifier(
        given,
        epochs=epochs,
        shuffle=False,
        validation_fraction=0,
        jit_compile=False,
        callbacks=callbacks() if callable(callbacks) else list(callbacks),
        **params,
    )
    clf.fit(
        X,
        y,
        sample_weight=sample_weight,
        validation_data=(X_val, y_val) if validation else None,
    )
    return reference, history.history, clf


def assert_same_history(reference, clf):
    """The same keys and values, epoch by epoch. (skdigits's history_ also
    records the learning rate, for plot_history; callbacks do not see it.)"""
    ours = {k: v for k, v in clf.history_.items() if k != "learning_rate"}
    if "learning_rate" in reference:
        ours["learning_rate"] = clf.history_["learning_rate"]
    assert sorted(ours) == sorted(reference)
    for key, values in reference.items():
        np.testing.assert_allclose(ours[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


# -- "Customizing what happens in fit()" ----------------------------------------------


@keras.saving.register_keras_serializable("skdigits_tests")
class Counting(keras.Sequential):
    """The guide's first example, counting its steps in a variable."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps_seen = keras.Variable(0, dtype="int64", trainable=False)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.steps_seen.assign_add(1)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class SeesModel(keras.callbacks.Callback):
    """Records the class of the model a callback sees and its step count."""

    def on_train_begin(self, logs=None):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(
            (type(self.model).__name__, int(self.model.steps_seen.numpy()))
        )


def test_overridden_train_step_runs(data):
    reference, history, clf = fit_both(
        data, lambda: sequential(Counting), callbacks=lambda: [SeesModel()]
    )
    assert_same_history(history, clf)
    assert isinstance(clf.model_, Counting)
    steps = EPOCHS * 13  # 400 rows in batches of 32
    assert (
        int(reference.steps_seen.numpy()) == int(clf.model_.steps_seen.numpy()) == steps
    )
    (ours,) = clf.callbacks_
    assert ours.seen == [("Counting", 13 * (e + 1)) for e in range(EPOCHS)]


@keras.saving.register_keras_serializable("skdigits_tests")
class PlusTen(keras.Model):
    """A ``compute_loss`` override: the loss plus 10."""

    def compute_loss(self, *args, **kwargs):
        return super().compute_loss(*args, **kwargs) + 10.0


def test_overridden_compute_loss_counts(data):
    _, history, clf = fit_both(data, lambda: functional(PlusTen))
    assert_same_history(history, clf)
    assert min(clf.history_["loss"]) > 10


@keras.saving.register_keras_serializable("skdigits_tests")
class OwnMetrics(keras.Model):
    """The guide's "going lower-level": its own loss and metrics, listed in
    ``metrics`` so that each epoch resets them, compiled with an optimizer
    only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "accuracy": self.accuracy.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]


def test_own_metrics_reset_each_epoch(data):
    def compile(model):
        model.compile(optimizer=keras.optimizers.Adam(1e-3))

    _, history, clf = fit_both(
        data, lambda: functional(OwnMetrics), compile, validation=False
    )
    assert_same_history(history, clf)


@keras.saving.register_keras_serializable("skdigits_tests")
class Weighted(keras.Model):
    """The guide's train step that supports ``sample_weight``."""

    def train_step(self, data):
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            (x, y), sample_weight = data, None
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}


def test_sample_weight_reaches_train_step(data):
    weights = np.random.default_rng(0).uniform(0.2, 1.0, len(data[0]))
    weights = weights.astype("float32")
    _, history, clf = fit_both(
        data, lambda: functional(Weighted), sample_weight=weights, validation=False
    )
    assert_same_history(history, clf)


def test_class_weight_as_keras_weighs_it(data):
    class_weight = {k: 1.0 + k / 10 for k in range(10)}
    X, y, _, _ = data
    reference, given = twins(sequential)
    history = reference.fit(
        X,
        y,
        batch_size=32,
        epochs=3,
        shuffle=False,
        class_weight=class_weight,
        verbose=0,
    )
    clf = KerasClassifier(
        given,
        epochs=3,
        shuffle=False,
        validation_fraction=0,
        jit_compile=False,
        class_weight=class_weight,
    ).fit(X, y)
    assert_same_history(history.history, clf)


@keras.saving.register_keras_serializable("skdigits_tests")
class OwnTestStep(keras.Model):
    """The guide's ``test_step`` override: validation logs the loss only."""

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {"loss": self.metrics[0].result()}


def test_overridden_test_step_validates(data):
    _, history, clf = fit_both(data, lambda: functional(OwnTestStep))
    assert "val_accuracy" not in history
    assert_same_history(history, clf)


# -- "Writing your own callbacks" ----------------------------------------------------

HOOKS = [
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
]


def _recording(name):
    def hook(self, *args, logs=None):
        index = [a for a in args if not isinstance(a, dict)]
        if logs is None and args and isinstance(args[-1], dict):
            logs = args[-1]
        self.calls.append((name, *index, tuple(sorted(logs or {}))))

    return hook


class Recorder(keras.callbacks.Callback):
    """The guide's ``CustomCallback``: every hook called, with its batch or
    epoch and the keys of its logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    locals().update({name: _recording(name) for name in HOOKS})


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_hooks_as_fit_calls_them(data, steps_per_execution):
    def compile(model):
        sparse_compile(model, steps_per_execution=steps_per_execution)

    made = []

    def callbacks():
        made.append(Recorder())
        return made[-1:]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, history, clf = fit_both(
            data,
            sequential,
            compile,
            callbacks=callbacks,
            epochs=2,
            steps_per_execution=steps_per_execution,
        )
    if any("ran out of data" in str(w.message) for w in caught):
        # Keras 3.3 stops an epoch at a last call of fewer steps than
        # steps_per_execution (13 steps here, 3 a call), and says so.
        pytest.skip(f"Keras {keras.__version__}'s own fit cuts the epoch short")
    assert_same_history(history, clf)
    reference = made[0].calls
    (ours,) = clf.callbacks_
    assert len(reference) > 20
    assert [c[0] for c in ours.calls] == [c[0] for c in reference]
    assert [c[-1] for c in ours.calls] == [c[-1] for c in reference]
    if steps_per_execution == 1:
        assert ours.calls == reference
    else:
        # Keras numbers the last call of an epoch, or of a validation, as if
        # it ran all its steps (batch 14 of 0..12, 5 of 0..4); skdigits
        # gives the step it ended on.
        mismatched = {c for c, r in zip(ours.calls, reference, strict=True) if c != r}
        assert mismatched == {
            ("on_train_batch_end", 12, ("accuracy", "loss")),
            ("on_test_batch_end", 4, ("accuracy", "loss")),
        }


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """The guide's callback: stop when the loss stops falling, keeping the
    best weights (here with a patience of 0 on the validation loss)."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best = 0, 0, np.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_loss"] < self.best:
            self.best, self.wait = logs["val_loss"], 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)


def test_guide_early_stopping_callback(data):
    def compile(model):
        sparse_compile(model, optimizer=keras.optimizers.Adam(0.05))

    reference, history, clf = fit_both(
        data,
        sequential,
        compile,
        callbacks=lambda: [EarlyStoppingAtMinLoss()],
        epochs=30,
    )
    stopped = len(history["loss"])
    assert stopped < 30  # Keras stopped: the test checks something
    assert_same_history(history, clf)
    assert clf.stop_reason_ == "callback"
    X_val = data[2]
    np.testing.assert_allclose(
        clf.predict_proba(X_val), reference.predict(X_val, verbose=0), atol=1e-5
    )


def test_learning_rate_set_by_callbacks(data):
    def schedule(epoch, lr):
        return lr * 0.5 if epoch % 2 else lr

    class GuideScheduler(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                self.model.optimizer.learning_rate = 2e-3

    def callbacks():
        return [keras.callbacks.LearningRateScheduler(schedule), GuideScheduler()]

    _, history, clf = fit_both(data, sequential, callbacks=callbacks)
    assert len(set(history["learning_rate"])) > 2
    assert_same_history(history, clf)


# -- Keras's built-in callbacks, with their defaults -----------------------------------


@pytest.mark.parametrize("monitor", ["val_accuracy", "accuracy", "val_loss"])
def test_early_stopping_restores_best_weights(data, monitor):
    def callbacks():
        return [
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=1, restore_best_weights=True
            )
        ]

    def compile(model):
        sparse_compile(model, optimizer=keras.optimizers.Adam(0.03))

    reference, history, clf = fit_both(
        data, sequential, compile, callbacks=callbacks, epochs=25
    )
    assert len(history["loss"]) < 25
    assert_same_history(history, clf)
    (ours,) = clf.callbacks_
    assert ours.stopped_epoch == len(history["loss"]) - 1
    np.testing.assert_allclose(
        clf.predict_proba(data[2]), reference.predict(data[2], verbose=0), atol=1e-5
    )


def test_model_checkpoint_and_csv_logger(data, tmp_path):
    def callbacks(name):
        folder = tmp_path / name
        folder.mkdir()
        return [
            keras.callbacks.ModelCheckpoint(
                folder / "best.keras", monitor="val_accuracy", save_best_only=True
            ),
            keras.callbacks.ModelCheckpoint(
                str(folder / "epoch{epoch}.weights.h5"), save_weights_only=True
            ),
            keras.callbacks.CSVLogger(folder / "log.csv"),
        ]

    names = iter(["keras", "skdigits"])
    reference, history, clf = fit_both(
        data, sequential, callbacks=lambda: callbacks(next(names))
    )
    assert_same_history(history, clf)
    for name in ("keras", "skdigits"):
        files = sorted(os.listdir(tmp_path / name))
        assert files == sorted(
            ["best.keras", "log.csv"] + [f"epoch{e}.weights.h5" for e in range(1, 7)]
        )
    with (
        open(tmp_path / "keras" / "log.csv") as a,
        open(tmp_path / "skdigits" / "log.csv") as b,
    ):
        rows_a, rows_b = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert list(rows_a[0]) == list(rows_b[0])
    for row_a, row_b in zip(rows_a, rows_b, strict=True):
        np.testing.assert_allclose(
            [float(v) for v in row_b.values()],
            [float(v) for v in row_a.values()],
            rtol=RTOL,
        )
    X_val = data[2]
    best = [
        keras.models.load_model(tmp_path / n / "best.keras")
        for n in ("keras", "skdigits")
    ]
    np.testing.assert_allclose(
        best[1].predict(X_val, verbose=0), best[0].predict(X_val, verbose=0), atol=1e-5
    )
    assert isinstance(best[1].optimizer, keras.optimizers.Adam)


def test_reduce_lr_on_plateau(data):
    def callbacks():
        return [
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy", patience=1, factor=0.5, min_delta=0.01
            )
        ]

    def compile(model):
        sparse_compile(model, optimizer=keras.optimizers.Adam(0.02))

    _, history, clf = fit_both(
        data, sequential, compile, callbacks=callbacks, epochs=10
    )
    assert len(set(history["learning_rate"])) > 1  # it dropped
    assert_same_history(history, clf)


def test_terminate_on_nan(data):
    def make():
        return keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])

    def compile(model):
        model.compile(optimizer=keras.optimizers.SGD(50.0), loss="mse")

    made = []

    def callbacks():
        made.append(Recorder())
        return [keras.callbacks.TerminateOnNaN(), made[-1]]

    with pytest.warns(RuntimeWarning, match="NaN"):
        _, history, clf = fit_both(
            data,
            make,
            compile,
            callbacks=callbacks,
            validation=False,
            targets=lambda labels: np.eye(10)[labels],
            steps_per_execution=1,
        )
    assert len(history["loss"]) == 1 and not np.isfinite(history["loss"][0])
    assert len(clf.history_["loss"]) == 1 and not np.isfinite(clf.history_["loss"][0])
    # Stopped at the same step of the first epoch.
    assert made[0].calls == clf.callbacks_[1].calls
    assert made[0].calls[-3][:2] != ("on_train_batch_end", 12)
    # Then skdigits's NaN rule restores the last good weights, and warns.
    assert clf.stop_reason_ == "nan"
    assert all(np.isfinite(w).all() for w in clf.model_.get_weights())


def test_tensorboard_writes_logs(data, tmp_path):
    names = iter(["keras", "skdigits"])
    _, history, clf = fit_both(
        data,
        sequential,
        callbacks=lambda: [keras.callbacks.TensorBoard(tmp_path / next(names))],
        epochs=2,
    )
    assert_same_history(history, clf)
    for name in ("keras", "skdigits"):
        for part in ("train", "validation"):
            assert glob.glob(str(tmp_path / name / part / "events.out.tfevents.*"))


class InterruptAt(keras.callbacks.Callback):
    """The guide's ``InterruptingCallback``."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupting the fit")


def test_backup_and_restore_resumes(data, tmp_path):
    X, y, X_val, y_val = data
    reference, given = twins(sequential)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "keras"))
    kwargs = dict(batch_size=32, epochs=EPOCHS, shuffle=False, verbose=0)
    with pytest.raises(RuntimeError):
        reference.fit(X, y, callbacks=[InterruptAt(3), backup], **kwargs)
    history = reference.fit(X, y, callbacks=[backup], **kwargs).history

    clf = KerasClassifier(
        given, epochs=EPOCHS, shuffle=False, validation_fraction=0, jit_compile=False
    )
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "skdigits"))
    with pytest.raises(RuntimeError):
        clf.set_params(callbacks=[InterruptAt(3), backup]).fit(X, y)
    assert not hasattr(clf, "model_")  # nothing fitted by the failed fit
    clf.set_params(callbacks=[backup]).fit(X, y)
    assert len(history["loss"]) == EPOCHS - 3  # resumed at epoch 4
    assert_same_history(history, clf)


def test_progbar_logger_prints_as_fit(data, capsys):
    X, y, _, _ = data
    reference, given = twins(sequential)
    outputs = []
    # verbose=0 silences a ProgbarLogger in fit's callbacks, as in Keras;
    # verbose=1 of fit is verbose=2 of the estimator (1 prints skdigits's
    # own lines only).
    for verbose in (0, 1):
        reference.fit(
            X,
            y,
            batch_size=32,
            epochs=2,
            shuffle=False,
            callbacks=[keras.callbacks.ProgbarLogger()],
            verbose=verbose,
        )
        theirs = capsys.readouterr().out
        KerasClassifier(
            given,
            epochs=2,
            shuffle=False,
            validation_fraction=0,
            callbacks=[keras.callbacks.ProgbarLogger()],
            verbose=2 * verbose,
        ).fit(X, y)
        outputs.append((theirs, capsys.readouterr().out))
    assert outputs[0] == ("", "")
    for out in outputs[1]:
        assert "Epoch 1/2" in out and "Epoch 2/2" in out
        assert "13/13" in out and "accuracy:" in out and "loss:" in out


def test_lambda_callback_logs(data):
    seen = []

    def callbacks():
        seen.append([])
        return [
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs, into=seen[-1]: into.append(
                    (epoch, sorted(logs))
                )
            )
        ]

    _, history, clf = fit_both(data, sequential, callbacks=callbacks, epochs=2)
    assert_same_history(history, clf)
    keys = sorted(history)
    assert seen == [[(0, keys), (1, keys)]] * 2


# -- "Training & evaluation with the built-in methods" ---------------------------------


@keras.saving.register_keras_serializable("skdigits_tests")
class CategoricalTruePositives(keras.metrics.Metric):
    """The guide's stateful metric."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(
            shape=(), name="ctp", initializer="zeros"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.reshape(keras.ops.argmax(y_pred, axis=1), (-1, 1))
        values = keras.ops.cast(y_true, "int32") == keras.ops.cast(y_pred, "int32")
        values = keras.ops.cast(values, "float32")
        if sample_weight is not None:
            values = keras.ops.multiply(
                values, keras.ops.cast(sample_weight, "float32")
            )
        self.true_positives.assign_add(keras.ops.sum(values))

    def result(self):
        # The guide returns the variable itself: Keras's fit then logs, as
        # the epoch's training value, what validation left in it (it reads
        # the training results after validating). skdigits reads them
        # before; a new tensor gives the training count in both.
        return self.true_positives + 0.0

    def reset_state(self):
        self.true_positives.assign(0.0)


@keras.saving.register_keras_serializable("skdigits_tests")
class ActivityRegularization(keras.layers.Layer):
    """The guide's layer that calls ``add_loss``."""

    def call(self, inputs):
        self.add_loss(1e-3 * keras.ops.sum(inputs))
        return inputs


def test_stateful_metrics_add_loss_and_regularizers(data):
    def make():
        inputs = keras.Input((64,))
        hidden = keras.layers.Dense(
            32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3)
        )(inputs)
        hidden = ActivityRegularization()(hidden)
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))

    def compile(model):
        sparse_compile(
            model,
            metrics=[
                "accuracy",
                CategoricalTruePositives(),
                keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
            ],
        )

    def callbacks():
        return [keras.callbacks.EarlyStopping(monitor="val_top2", patience=1)]

    _, history, clf = fit_both(data, make, compile, callbacks=callbacks, epochs=15)
    assert {"categorical_true_positives", "val_top2"} <= set(history)
    assert_same_history(history, clf)


def test_auc_and_precision_one_hot(data):
    def compile(model):
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="categorical_crossentropy",
            metrics=[
                keras.metrics.AUC(name="auc"),
                keras.metrics.Precision(name="precision"),
            ],
        )

    def callbacks():
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_auc", patience=1, restore_best_weights=True
            )
        ]

    _, history, clf = fit_both(
        data,
        sequential,
        compile,
        callbacks=callbacks,
        targets=lambda labels: np.eye(10)[labels],
        epochs=8,
    )
    # skdigits adds no metric to a model compiled by the user.
    assert {"auc", "precision", "val_auc", "val_precision"} <= set(history)
    assert_same_history(history, clf)


def test_custom_loss_function(data):
    def custom_mean_squared_error(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    def compile(model):
        model.compile(optimizer="adam", loss=custom_mean_squared_error)

    _, history, clf = fit_both(
        data, sequential, compile, targets=lambda labels: np.eye(10)[labels]
    )
    assert_same_history(history, clf)


def test_learning_rate_schedule_of_the_optimizer(data):
    def compile(model):
        schedule = keras.optimizers.schedules.ExponentialDecay(
            1e-2, decay_steps=10, decay_rate=0.5, staircase=True
        )
        sparse_compile(model, optimizer=keras.optimizers.Adam(schedule))

    _, history, clf = fit_both(data, sequential, compile)
    assert_same_history(history, clf)


def test_validation_split_holds_out_the_last_rows(data):
    X, y, _, _ = data
    reference, given = twins(sequential)
    history = reference.fit(
        X, y, batch_size=32, epochs=3, shuffle=False, validation_split=0.2, verbose=0
    )
    clf = KerasClassifier(
        given, epochs=3, shuffle=False, jit_compile=False, validation_split=0.2
    ).fit(X, y)
    assert_same_history(history.history, clf)


# -- the paths through Keras's own fit -------------------------------------------------


@keras.saving.register_keras_serializable("skdigits_tests")
class OwnFit(keras.Sequential):
    """A model whose ``fit`` does more than Keras's."""

    fits = 0

    def fit(self, *args, **kwargs):
        type(self).fits += 1
        return super().fit(*args, **kwargs)


def test_overridden_fit_and_run_eagerly_run_through_fit(data):
    before = OwnFit.fits
    _, history, clf = fit_both(data, lambda: sequential(OwnFit), epochs=3)
    assert OwnFit.fits == before + 2  # the reference's fit and skdigits's
    assert_same_history(history, clf)

    def compile(model):
        sparse_compile(model, run_eagerly=True)

    _, history, clf = fit_both(data, sequential, compile, epochs=2)
    assert clf.model_.run_eagerly
    assert_same_history(history, clf)


# -- model_: the trained model, compiled, with its optimizer ---------------------------


def test_model_is_compiled_with_training_state(data, tmp_path):
    X, y, X_val, y_val = data
    reference, history, clf = fit_both(data, sequential, epochs=3)
    model = clf.model_
    assert model.compiled and model.optimizer is not None
    assert int(model.optimizer.iterations.numpy()) == int(
        reference.optimizer.iterations.numpy()
    )
    for ours, theirs in zip(
        model.optimizer.variables, reference.optimizer.variables, strict=True
    ):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose(
        model.evaluate(X_val, y_val, verbose=0),
        reference.evaluate(X_val, y_val, verbose=0),
        rtol=RTOL,
    )
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert int(loaded.optimizer.iterations.numpy()) == int(
        reference.optimizer.iterations.numpy()
    )
    # A further model_.fit goes on as the reference's further fit.
    more = dict(batch_size=32, epochs=2, shuffle=False, verbose=0)
    theirs = reference.fit(X, y, **more).history
    ours = model.fit(X, y, **more).history
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=RTOL)


def test_pickled_estimator_warm_starts_like_a_further_fit(data):
    X, y, _, _ = data
    reference, _, clf = fit_both(data, sequential, epochs=3, validation=False)
    loaded = pickle.loads(pickle.dumps(clf))
    assert int(loaded.model_.optimizer.iterations.numpy()) == 3 * 13
    theirs = reference.fit(X, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    loaded.set_params(warm_start=True, epochs=2).fit(X, y)
    np.testing.assert_allclose(
        loaded.history_["loss"][3:], theirs.history["loss"], rtol=RTOL
    )
    assert int(loaded.model_.optimizer.iterations.numpy()) == 5 * 13


def test_initialize_wraps_a_trained_model(data):
    X, y, X_val, _ = data
    model = sequential()
    sparse_compile(model)
    model.fit(X, y, epochs=2, verbose=0)
    clf = KerasClassifier(model).initialize(X, y)
    np.testing.assert_allclose(
        clf.predict_proba(X_val), model.predict(X_val, verbose=0), atol=1e-6
    )
    assert clf.history_ == {} and clf.n_iter_ == 0
    assert clf.model_ is not model and clf.model_.compiled
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict(X_val), clf.predict(X_val))


def test_default_batch_size_is_keras(data):
    X, y, _, _ = data
    reference, given = twins(sequential)
    reference.fit(X, y, epochs=1, verbose=0)  # Keras's default batch size
    clf = KerasClassifier(given, epochs=1).fit(X, y)
    assert clf.batch_size_ == 32
    assert int(clf.model_.optimizer.iterations.numpy()) == int(
        reference.optimizer.iterations.numpy()
    )
