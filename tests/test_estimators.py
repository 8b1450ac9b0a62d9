"""Fitting, predicting, fitted attributes, training rules and bad input."""

import pickle
import re
import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss

from skdigits import RULES_OFF, KerasCNNClassifier, KerasMLPClassifier, callbacks

ESTIMATORS = [KerasMLPClassifier, KerasCNNClassifier]


@pytest.fixture(scope="module")
def small(digits):
    """600 training rows: enough to learn, quick to fit."""
    X_train, X_test, y_train, y_test = digits
    return X_train[:600], X_test, y_train[:600], y_test


# -- fitted estimators ----------------------------------------------------


@pytest.mark.parametrize("name", ["fitted_mlp", "fitted_cnn"])
def test_learns_digits(name, digits, request):
    est = request.getfixturevalue(name)
    _, X_test, _, y_test = digits
    assert est.score(X_test, y_test) > 0.85
    proba = est.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(est.classes_[proba.argmax(1)], est.predict(X_test))


@pytest.mark.parametrize("name", ["fitted_mlp", "fitted_cnn"])
def test_fitted_attributes(name, request):
    est = request.getfixturevalue(name)
    assert est.n_features_in_ == 64
    assert isinstance(est.model_, keras.Model)
    np.testing.assert_array_equal(est.classes_, np.arange(10))
    # 1,347 rows: "auto" holds out nothing (135 rows measure accuracy too
    # coarsely) and monitors the training accuracy and loss.
    assert set(est.history_) == {"loss", "accuracy", "learning_rate"}
    assert all(len(v) == est.n_iter_ for v in est.history_.values())
    assert est.n_iter_ <= est.epochs
    assert est.stop_reason_ in {"max_epochs", "converged"}
    # best_epoch_ is 1-based: the best accuracy, and among epochs that tie
    # with it, none has a loss lower by more than the tolerance.
    acc, loss = est.history_["accuracy"], est.history_["loss"]
    best = est.best_epoch_ - 1
    assert acc[best] == max(acc)
    ties = [loss[i] for i in range(best) if acc[i] == max(acc)]
    assert all(loss[best] < t * (1 - callbacks.LOSS_TOLERANCE) for t in ties)
    assert est.best_score_ == pytest.approx(max(acc))
    assert (est.batch_size_, est.gd_variant_) == (128, "mini-batch")


def test_predict_one_row_matches_batch(fitted_mlp, digits):
    _, X_test, _, _ = digits
    batch = fitted_mlp.predict_proba(X_test)
    one = np.vstack([fitted_mlp.predict_proba(X_test[i : i + 1]) for i in range(20)])
    np.testing.assert_allclose(one, batch[:20], rtol=1e-9)


@pytest.mark.parametrize("name", ["fitted_mlp", "fitted_cnn"])
def test_predict_in_any_number_of_rows(name, digits, request):
    # Small calls run a compiled pass padded to a power of two of rows, large
    # ones run in chunks: neither the padding nor the chunking may change a
    # row's result or reach the output.
    est = request.getfixturevalue(name)
    _, X_test, _, _ = digits
    X = np.vstack([X_test, X_test])[:700]
    proba = est.predict_proba(X)
    assert proba.shape == (700, len(est.classes_))
    # Pieces of 1, 3, 28 and 13 rows (padded), 100, and 555 (512 + 43).
    pieces = np.split(X, [1, 4, 32, 45, 145])
    np.testing.assert_allclose(
        np.vstack([est.predict_proba(p) for p in pieces]), proba, rtol=1e-5, atol=1e-6
    )


def test_cnn_image_layouts(fitted_cnn, digits):
    _, X_test, _, _ = digits
    expected = fitted_cnn.predict_proba(X_test)
    images = X_test.reshape(-1, 8, 8)
    np.testing.assert_allclose(fitted_cnn.predict_proba(images), expected)
    np.testing.assert_allclose(fitted_cnn.predict_proba(images[..., None]), expected)
    assert fitted_cnn.image_shape_ == (8, 8)
    with pytest.raises(ValueError, match="image_shape"):
        fitted_cnn.predict(X_test.reshape(-1, 4, 16))
    with pytest.raises(ValueError, match="channels"):
        fitted_cnn.predict(np.repeat(images[..., None], 3, axis=-1))


@pytest.mark.parametrize("layout", ["3d", "4d"])
def test_cnn_fits_images(layout, small):
    X, _, y, _ = small
    X = X.reshape(-1, 8, 8) if layout == "3d" else X.reshape(-1, 8, 8, 1)
    est = KerasCNNClassifier(epochs=1, random_state=0).fit(X, y)
    assert est.n_features_in_ == 64
    assert est.image_shape_ == (8, 8)


def test_cnn_explicit_image_shape(small):
    X, _, y, _ = small
    wide = np.hstack([X, X])  # 8x16 images: not square, so not inferable
    est = KerasCNNClassifier(image_shape=(8, 16), epochs=1, random_state=0)
    assert est.fit(wide, y).image_shape_ == (8, 16)
    with pytest.raises(ValueError, match="does not match"):
        KerasCNNClassifier(image_shape=(8, 8), epochs=1).fit(wide, y)


# -- parameters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch_size", "size", "variant"),
    [
        (1, 1, "stochastic"),
        (50, 50, "mini-batch"),
        (None, 540, "batch"),
        (-1, 540, "batch"),
        (540, 540, "batch"),
        (10_000, 540, "batch"),
    ],
)
def test_gradient_descent_variants(batch_size, size, variant, small):
    X, _, y, _ = small
    est = KerasMLPClassifier(
        batch_size=batch_size, epochs=1, validation_fraction=0.1, random_state=0
    )
    est.fit(X, y)  # 600 rows, 10% held out: 540 trained on
    assert (est.batch_size_, est.gd_variant_) == (size, variant)
    assert est.batch_size == batch_size  # the parameter is never changed


@pytest.mark.parametrize(
    "params",
    [
        {"loss": "mse"},
        {"optimizer": "sgd", "learning_rate": 0.5},
        {"optimizer": keras.optimizers.RMSprop},
        {"hidden_layer_sizes": ()},
        {
            "hidden_layer_sizes": (16, 16, 16),
            "activation": "sigmoid",
            "output_activation": "sigmoid",
            "batch_size": 16,
        },
        {"output_activation": "sigmoid", "loss": "mse"},
    ],
)
def test_training_choices_learn(params, digits):
    # The full 8x8 training set and a higher rate than the MNIST defaults:
    # small data gives few steps per epoch.
    X, X_test, y, y_test = digits
    params = {"learning_rate": 0.01, "batch_size": 32, **params}
    est = KerasMLPClassifier(epochs=20, random_state=0, **params).fit(X, y)
    assert est.score(X_test, y_test) > 0.85
    np.testing.assert_allclose(est.predict_proba(X_test).sum(axis=1), 1)


def test_rules_off_runs_every_epoch(small):
    X, _, y, _ = small
    # A plateau that the rules would act on: drops, then a converged stop.
    est = KerasMLPClassifier(
        optimizer="sgd", learning_rate=1e-6, epochs=8, random_state=0, **RULES_OFF
    ).fit(X, y)
    assert est.n_iter_ == 8
    assert est.stop_reason_ == "max_epochs"
    assert est.history_["learning_rate"] == [pytest.approx(1e-6)] * 8
    ruled = KerasMLPClassifier(
        optimizer="sgd", learning_rate=1e-6, epochs=8, random_state=0, patience=2
    ).fit(X, y)
    assert ruled.n_iter_ < 8


def test_from_preset():
    est = KerasMLPClassifier.from_preset("4LS", epochs=3)
    assert est.hidden_layer_sizes == (16, 16, 16)
    assert est.output_activation == "sigmoid"
    assert est.epochs == 3
    with pytest.raises(ValueError, match="preset"):
        KerasMLPClassifier.from_preset("5LX")


def test_cnn_presets():
    from skdigits import CNN_PRESETS

    default = KerasCNNClassifier()
    assert (default.filters, default.batch_norm, default.shift) == (
        (8, 32, 32),
        False,
        "auto",
    )
    v02 = KerasCNNClassifier.from_preset("v0.2")
    assert (v02.filters, v02.shift, v02.epochs) == ((16, 32, 32), 0.05, 9)
    assert (default.lr_schedule, default.lr_patience) == ("one-cycle", None)
    # Every preset is complete: from_preset gives exactly its values.
    for name, preset in CNN_PRESETS.items():
        params = KerasCNNClassifier.from_preset(name).get_params()
        assert {k: params[k] for k in preset} == preset, name
    zoo = KerasCNNClassifier.from_preset("zoo")
    assert (zoo.filters, zoo.batch_norm, zoo.shift, zoo.noise_std) == (
        (16, 32, 32),
        False,
        0.0,
        0.1,
    )
    assert (zoo.lr_schedule, zoo.lr_patience, zoo.lr_factor) == (None, 5, 0.1)
    assert zoo.dense_units is None and zoo.dropout == 0
    old = KerasCNNClassifier.from_preset("v0.1")
    assert (old.batch_norm, old.shift, old.lr_patience, old.epochs) == (
        True,
        0.1,
        3,
        "auto",
    )
    strong = KerasCNNClassifier.from_preset("bn-shift", epochs=3)
    assert (strong.batch_norm, strong.shift, strong.epochs) == (True, 0.1, 3)
    with pytest.raises(ValueError, match="unknown KerasCNNClassifier preset"):
        KerasCNNClassifier.from_preset("2LR")


def test_bn_shift_cnn_learns_predicts_rows_alone_and_pickles(digits):
    X_train, X_test, y_train, y_test = digits
    params = {"epochs": 6, "learning_rate": 0.01, "random_state": 0}
    est = KerasCNNClassifier.from_preset("bn-shift", **params).fit(X_train, y_train)
    assert est.score(X_test, y_test) > 0.85
    # Batch normalisation predicts with its moving statistics: a row's
    # probabilities do not depend on the rows beside it.
    proba = est.predict_proba(X_test)
    np.testing.assert_allclose(est.predict_proba(X_test[3:4]), proba[3:4], atol=1e-6)
    again = KerasCNNClassifier.from_preset("bn-shift", **params).fit(X_train, y_train)
    np.testing.assert_array_equal(again.predict_proba(X_test), proba)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X_test), proba)


def test_mlp_l2_shrinks_weights(small):
    X, _, y, _ = small
    params = {"epochs": 5, "learning_rate": 0.01, "random_state": 0}
    plain = KerasMLPClassifier(**params).fit(X, y)
    penalised = KerasMLPClassifier(l2=0.01, **params).fit(X, y)

    def norm(est):
        return sum(float(np.sum(w**2)) for w in est.model_.get_weights()[::2])

    assert norm(penalised) < 0.8 * norm(plain)
    with pytest.raises(ValueError, match="l2"):
        KerasMLPClassifier(l2=-1.0).fit(X, y)


def test_cnn_bad_shift(small):
    X, _, y, _ = small
    with pytest.raises(ValueError, match="shift"):
        KerasCNNClassifier(shift=1.0).fit(X, y)


def test_string_labels(small):
    X, X_test, y, _ = small
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    est = KerasMLPClassifier(epochs=3, random_state=0).fit(X, names[y])
    assert set(est.predict(X_test)) <= set(names)
    np.testing.assert_array_equal(est.classes_, np.sort(names))


def test_dataframe_feature_names(small):
    pd = pytest.importorskip("pandas")
    X, X_test, y, _ = small
    columns = [f"px{i}" for i in range(64)]
    est = KerasMLPClassifier(epochs=1, random_state=0)
    est.fit(pd.DataFrame(X, columns=columns), y)
    np.testing.assert_array_equal(est.feature_names_in_, columns)
    assert est.predict(pd.DataFrame(X_test, columns=columns)).shape == (len(X_test),)
    # Unpickling readies scikit-learn's input checks on a blank row; for a
    # model fitted with feature names that must not warn about the names.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        loaded.predict_proba(pd.DataFrame(X_test, columns=columns)),
        est.predict_proba(pd.DataFrame(X_test, columns=columns)),
    )


# -- training rules -------------------------------------------------------


def test_target_accuracy_stops(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(
        target_accuracy=0.5, epochs=50, validation_fraction=0.1, random_state=0
    )
    est.fit(X, y)
    assert est.stop_reason_ == "target_accuracy"
    assert est.history_["val_accuracy"][-1] >= 0.5
    assert est.n_iter_ < 50


def test_converged_stops(small):
    X, _, y, _ = small
    # A tiny learning rate gives a plateau: stop after `patience` flat epochs.
    est = KerasMLPClassifier(
        optimizer="sgd",
        learning_rate=1e-6,
        patience=2,
        lr_patience=None,
        epochs=30,
        random_state=0,
    ).fit(X, y)
    assert est.stop_reason_ == "converged"
    assert est.n_iter_ < 30


def test_learning_rate_drops(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(
        optimizer="sgd",
        learning_rate=1e-6,
        lr_patience=1,
        lr_factor=0.5,
        min_lr=1e-7,
        patience=None,
        target_accuracy=None,
        epochs=6,
        random_state=0,
    ).fit(X, y)
    rates = est.history_["learning_rate"]
    assert rates[0] == pytest.approx(1e-6)
    assert min(rates) == pytest.approx(1e-7, rel=1e-3)  # clamped at min_lr
    assert rates == sorted(rates, reverse=True)


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("schedule", ["one-cycle", "cosine"])
def test_learning_rate_schedules(schedule, jit, small):
    X, _, y, _ = small
    est = KerasMLPClassifier(
        lr_schedule=schedule,
        lr_patience=None,
        learning_rate=0.02,
        epochs=8,
        batch_size=64,
        jit_compile=jit,
        random_state=0,
    ).fit(X, y)
    assert est._plan.jit_compile is jit
    rates = np.array(est.history_["learning_rate"])  # each epoch's last rate
    assert rates.max() <= 0.02 + 1e-9 and rates[-1] < 1e-3 * rates.max()  # to 0
    peak = int(np.argmax(rates))
    if schedule == "cosine":
        assert peak == 0
    else:  # a quarter of the steps warming up
        assert 0 < peak <= 3 and rates[0] < rates[peak]
    assert (np.diff(rates[peak:]) < 0).all()
    assert est.score(X, y) > 0.9
    with pytest.raises(ValueError, match="lr_patience"):
        KerasMLPClassifier(lr_schedule=schedule, epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="lr_schedule"):
        KerasMLPClassifier(lr_schedule="linear").fit(X, y)


def test_nan_loss_stops_and_warns(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(
        optimizer="sgd", learning_rate=1e30, epochs=5, random_state=0
    )
    with pytest.warns(RuntimeWarning, match="NaN"):
        est.fit(X * 1e10, y)
    assert est.stop_reason_ == "nan"
    assert all(np.isfinite(w).all() for w in est.model_.get_weights())
    assert np.isfinite(est.predict_proba(X)).all()


def test_no_validation_monitors_training_accuracy(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(validation_fraction=0, epochs=3, random_state=0)
    est.fit(X, y)
    assert "val_accuracy" not in est.history_
    assert est.best_score_ == pytest.approx(max(est.history_["accuracy"]))


def test_validation_data(small):
    X, X_test, y, y_test = small
    est = KerasMLPClassifier(epochs=3, batch_size=None, random_state=0)
    est.fit(X, y, validation_data=(X_test, y_test))
    # All of X trains (no hold-out), and the given data is monitored.
    assert est.batch_size_ == len(X)
    assert len(est.history_["val_accuracy"]) == est.n_iter_
    best = est.history_["val_accuracy"][est.best_epoch_ - 1]
    assert est.score(X_test, y_test) == pytest.approx(best, abs=1e-6)
    with pytest.raises(ValueError, match="validation_data"):
        est.fit(X, y, validation_data=X_test)


@pytest.mark.parametrize("restore", [True, False])
def test_restore_best_weights(restore, small):
    X, X_test, y, y_test = small
    est = KerasMLPClassifier(
        epochs=6,
        random_state=0,
        lr_patience=None,
        patience=None,
        target_accuracy=None,
        restore_best_weights=restore,
        learning_rate=0.05,
    ).fit(X, y, validation_data=(X_test, y_test))
    # The model ends on the best epoch's weights, or on the last epoch's:
    # its loss on the validation data is that epoch's val_loss.
    losses = est.history_["val_loss"]
    assert est.best_epoch_ < est.n_iter_  # the run must tell best and last apart
    assert losses[est.best_epoch_ - 1] != pytest.approx(losses[-1], rel=1e-3)
    expected = losses[est.best_epoch_ - 1] if restore else losses[-1]
    proba = est.predict_proba(X_test)
    assert log_loss(y_test, proba, labels=est.classes_) == pytest.approx(
        expected, rel=1e-4
    )


def test_checkpoint_path(small, tmp_path):
    X, X_test, y, _ = small
    path = tmp_path / "best.keras"
    est = KerasMLPClassifier(epochs=3, random_state=0, checkpoint_path=str(path))
    est.fit(X, y)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(X_test.astype("float32"), verbose=0),
        est.model_.predict(X_test.astype("float32"), verbose=0),
        rtol=1e-6,
    )


def test_verbose_lines(small, capsys, tmp_path):
    X, _, y, _ = small
    KerasMLPClassifier(
        epochs=3,
        verbose=1,
        validation_fraction=0.1,
        random_state=0,
        checkpoint_path=tmp_path / "b.keras",
    ).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Epoch 1/3: loss ")
    assert "val_accuracy" in lines[0]
    assert "new best, saving to" in lines[0]
    assert re.search(r", \d+ s, about \d+ s left", lines[0])  # time, and time left
    assert "left" not in lines[2]  # the last epoch
    assert "\r" not in "".join(lines)  # not a terminal: no progress bar
    assert lines[-1].startswith("Stopped: reached the maximum of 3 epochs")


def test_progress_bar_on_a_terminal(small, capsys):
    from skdigits.callbacks import BestModel, EarlyExit, EpochReport

    X, _, y, _ = small
    early_exit, best = EarlyExit("accuracy", target=None), BestModel("accuracy")
    report = EpochReport(
        early_exit=early_exit, best=best, epochs=2, verbose=1, progress=True
    )
    KerasCNNClassifier(
        epochs=2, batch_size=16, callbacks=[early_exit, best, report], random_state=0
    ).fit(X, y)
    out = capsys.readouterr().out
    # Redrawn in place at each compiled call (600 rows of batch 16: one call
    # of 38 steps an epoch), then cleared for the epoch's line.
    assert out.count("\r  [") == 2 and "38/38 steps," in out
    assert "\x1b[2K" in out and "Epoch 2/2" in out


def test_verbose_zero_is_silent(small, capsys):
    X, _, y, _ = small
    KerasMLPClassifier(epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


# -- continuing training ----------------------------------------------------


def test_partial_fit(small):
    X, X_test, y, y_test = small
    est = KerasMLPClassifier(learning_rate=0.01, random_state=0)
    est.partial_fit(X[:300], y[:300], classes=np.arange(10))
    first = [w.copy() for w in est.model_.get_weights()]
    for _ in range(4):
        est.partial_fit(X, y)
    assert est.n_iter_ == 5
    assert len(est.history_["loss"]) == 5
    assert "val_accuracy" not in est.history_
    assert not np.array_equal(first[0], est.model_.get_weights()[0])
    assert est.score(X_test, y_test) > 0.5
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y, classes=np.arange(5))
    with pytest.raises(ValueError, match="not among the classes"):
        est.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))


def test_partial_fit_classes_not_all_present(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(random_state=0)
    est.partial_fit(X[y < 3], y[y < 3], classes=np.arange(10))
    assert est.predict_proba(X).shape == (len(X), 10)
    # Without classes, the first call takes those of y (as SciKeras does).
    est = KerasMLPClassifier(random_state=0).partial_fit(X[y < 3], y[y < 3])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="not among the classes"):
        est.partial_fit(X, y)


def test_warm_start_continues(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(
        epochs=2, warm_start=True, random_state=0, restore_best_weights=False
    ).fit(X, y)
    weights = [w.copy() for w in est.model_.get_weights()]
    model = est.model_
    est.fit(X, y)
    assert est.model_ is model  # same network, trained further
    assert est.n_iter_ == 4
    assert len(est.history_["loss"]) == 4
    assert not np.array_equal(weights[0], est.model_.get_weights()[0])


def test_refit_without_warm_start_starts_anew(small):
    X, _, y, _ = small
    est = KerasMLPClassifier(epochs=2, random_state=0).fit(X, y)
    model = est.model_
    est.fit(X, y)
    assert est.model_ is not model
    assert est.n_iter_ == 2


# -- bad input ----------------------------------------------------------------


def _bad_fit_cases():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 64)
    y = np.arange(40) % 4
    nan = X.copy()
    nan[3, 5] = np.nan
    inf = X.copy()
    inf[0, 0] = np.inf
    return [
        ("nan", nan, y, {}, ValueError, "NaN"),
        ("inf", inf, y, {}, ValueError, "infinity"),
        ("1d", X[:, 0], y, {}, ValueError, "2D array"),
        ("empty", X[:0], y[:0], {}, ValueError, "0 sample"),
        ("one class", X, np.zeros(40), {}, ValueError, "class"),
        ("length", X, y[:30], {}, ValueError, "inconsistent numbers"),
        ("optimizer", X, y, {"optimizer": "nope"}, ValueError, "optimizer"),
        ("optimizer type", X, y, {"optimizer": 3}, TypeError, "optimizer"),
        (
            "optimizer instance",
            X,
            y,
            {"optimizer": keras.optimizers.SGD()},
            TypeError,
            "optimizer",
        ),
        ("loss", X, y, {"loss": "hinge"}, ValueError, "loss"),
        ("batch_size 0", X, y, {"batch_size": 0}, ValueError, "batch_size"),
        ("batch_size -2", X, y, {"batch_size": -2}, ValueError, "batch_size"),
        ("learning_rate", X, y, {"learning_rate": -0.1}, ValueError, "learning_rate"),
        ("epochs", X, y, {"epochs": 0}, ValueError, "epochs"),
        (
            "validation_fraction",
            X,
            y,
            {"validation_fraction": 1.0},
            ValueError,
            "validation_fraction",
        ),
        ("callbacks", X, y, {"callbacks": ["x"]}, TypeError, "callbacks"),
        ("checkpoint", X, y, {"checkpoint_path": "best.h5"}, ValueError, ".keras"),
        ("weights zero", X, y, {"sample_weight": np.zeros(40)}, ValueError, "non-zero"),
        (
            "weights negative",
            X,
            y,
            {"sample_weight": -np.ones(40)},
            ValueError,
            "(?i)negative",
        ),
    ]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("case", "X", "y", "kwargs", "error", "match"),
    _bad_fit_cases(),
    ids=[case[0] for case in _bad_fit_cases()],
)
def test_bad_fit_input(Estimator, case, X, y, kwargs, error, match):
    params = {"epochs": 1, **kwargs}
    sample_weight = params.pop("sample_weight", None)
    est = Estimator(**params)
    with pytest.raises(error, match=match):
        est.fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_predict_before_fit(Estimator):
    X = np.zeros((2, 64))
    for method in ("predict", "predict_proba", "score"):
        args = (X, [0, 1]) if method == "score" else (X,)
        with pytest.raises(NotFittedError):
            getattr(Estimator(), method)(*args)


@pytest.mark.parametrize("name", ["fitted_mlp", "fitted_cnn"])
def test_wrong_n_features_at_predict(name, request):
    est = request.getfixturevalue(name)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.zeros((3, 63)))
    with pytest.raises(ValueError, match="NaN"):
        est.predict(np.full((3, 64), np.nan))


@pytest.mark.parametrize("features", [10, 50, 783])
def test_cnn_not_an_image(features):
    X = np.random.RandomState(0).rand(30, features)
    with pytest.raises(ValueError, match="image_shape"):
        KerasCNNClassifier(epochs=1).fit(X, np.arange(30) % 3)


def test_bad_mlp_architecture(small):
    X, _, y, _ = small
    with pytest.raises(ValueError, match="activation"):
        KerasMLPClassifier(activation="nope", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        KerasMLPClassifier(hidden_layer_sizes=(0,), epochs=1).fit(X, y)


def test_tiny_data_warns_and_monitors_training_accuracy():
    X = np.random.RandomState(0).rand(6, 64)
    y = np.array([0, 1, 2, 0, 1, 2])
    with pytest.warns(UserWarning, match="training accuracy"):
        est = KerasMLPClassifier(epochs=2, validation_fraction=0.1, random_state=0).fit(
            X, y
        )
    assert "val_accuracy" not in est.history_


def test_long_mlp_fit_compiles_with_xla_reproducibly(small):
    # 540 rows at batch 1 for 8 epochs: 4,320 steps, past the XLA threshold.
    X, X_test, y, y_test = small
    params = {
        "batch_size": 1,
        "epochs": 8,
        "random_state": 0,
        "learning_rate": 1e-3,
        "validation_fraction": 0.1,
    }
    a = KerasMLPClassifier(**params).fit(X, y)
    assert a._plan.jit_compile is True
    b = KerasMLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert a.score(X_test, y_test) > 0.85


def test_accuracy_logs_weigh_the_samples(small):
    # A rate so small the weights stay put: the epoch's training accuracy is
    # the final model's accuracy on the training rows, weighted as the score.
    X, _, y, _ = small
    w = np.where(y < 5, 3.0, 0.5)
    est = KerasMLPClassifier(
        epochs=1,
        optimizer="sgd",
        learning_rate=1e-9,
        random_state=0,
        validation_fraction=0,
    ).fit(X, y, sample_weight=w)
    weighted = est.score(X, y, sample_weight=w)
    assert weighted != pytest.approx(est.score(X, y), abs=1e-3)
    assert est.history_["accuracy"][0] == pytest.approx(weighted, abs=1e-5)


def test_short_fits_and_cnn_skip_xla(fitted_mlp, fitted_cnn):
    assert fitted_mlp._plan.jit_compile is False
    assert fitted_cnn._plan.jit_compile is False


@pytest.mark.parametrize(
    "bad",
    [{"optimizer": "nope"}, {"callbacks": ["x"]}, {"loss": "hinge"}],
)
def test_failed_fit_leaves_no_half_fitted_state(bad, small):
    X, _, y, _ = small
    est = KerasMLPClassifier(epochs=1, **bad)
    with pytest.raises((ValueError, TypeError)):
        est.fit(X, y)
    assert not hasattr(est, "model_") and not hasattr(est, "classes_")
    fitted = KerasMLPClassifier(epochs=1, random_state=0).fit(X, y)
    model, before = fitted.model_, fitted.predict_proba(X)
    with pytest.raises((ValueError, TypeError)):
        fitted.set_params(**bad).fit(X, y[::-1])
    assert fitted.model_ is model
    np.testing.assert_array_equal(fitted.predict_proba(X), before)
