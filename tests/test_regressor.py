"""``KerasRegressor`` and ``KerasMLPRegressor``, against their references.

Where the regressor does what Keras does, ``model.fit`` runs first on a
model of the same weights, the same rows in the same order, the same batch
size and epochs, and the histories and predictions are compared (as in
test_keras_fidelity.py, to ``RTOL``); where it does what scikit-learn's
``MLPRegressor`` does, ``MLPRegressor`` runs first on the same folds.
"""

import pickle
import warnings

import keras
import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, make_friedman1, make_regression
from sklearn.ensemble import StackingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdigits import KerasMLPRegressor, KerasRegressor

RTOL = 1e-4
EPOCHS = 5


def standardised(X, y):
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), ((y - y.mean()) / y.std()).astype(np.float32)


@pytest.fixture(scope="module")
def diabetes():
    return standardised(*load_diabetes(return_X_y=True))


@pytest.fixture(scope="module")
def friedman():
    return standardised(*make_friedman1(n_samples=1000, noise=1.0, random_state=0))


def dense(meta, units=100):
    """MLPRegressor()'s network: 100 relu units, one linear unit per output."""
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


def compiled(n_features, n_outputs=1):
    model = dense({"n_features_in_": n_features, "n_outputs_": n_outputs}, 16)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    return model


def twins(n_features, n_outputs=1):
    given = compiled(n_features, n_outputs)
    reference = compiled(n_features, n_outputs)
    reference.set_weights(given.get_weights())
    return reference, given


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_fit_matches_model_fit(diabetes, n_outputs):
    X, y = diabetes
    if n_outputs > 1:  # 2-D targets: the value and two functions of it
        y = np.column_stack([y, y**2, -y]).astype(np.float32)
    X_val, y_val = X[350:], y[350:]
    X, y = X[:350], y[:350]
    reference, given = twins(X.shape[1], n_outputs)
    history = reference.fit(
        X,
        y,
        batch_size=32,
        epochs=EPOCHS,
        shuffle=False,
        validation_data=(X_val, y_val),
        verbose=0,
    ).history
    reg = KerasRegressor(given, epochs=EPOCHS, shuffle=False, random_state=0)
    reg.fit(X, y, validation_data=(X_val, y_val))
    assert set(history) <= set(reg.history_)
    for key, values in history.items():
        np.testing.assert_allclose(reg.history_[key], values, rtol=RTOL, err_msg=key)
    expected = reference.predict(X_val, verbose=0)
    predicted = reg.predict(X_val)
    assert predicted.shape == (len(X_val),) if n_outputs == 1 else (len(X_val), 3)
    np.testing.assert_allclose(
        predicted.reshape(expected.shape), expected, rtol=1e-4, atol=1e-5
    )
    assert reg.n_outputs_ == n_outputs
    assert reg.score(X_val, y_val) == pytest.approx(
        r2_score(y_val, expected.reshape(predicted.shape)), abs=1e-5
    )


def test_sample_weight_matches_model_fit(diabetes):
    X, y = diabetes
    weights = np.random.default_rng(0).uniform(0.1, 2.0, len(X)).astype(np.float32)
    reference, given = twins(X.shape[1])
    history = reference.fit(
        X,
        y,
        sample_weight=weights,
        batch_size=32,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
    ).history
    reg = KerasRegressor(given, epochs=EPOCHS, shuffle=False).fit(
        X, y, sample_weight=weights
    )
    np.testing.assert_allclose(reg.history_["loss"], history["loss"], rtol=RTOL)


def test_keras_callbacks_as_in_model_fit(diabetes):
    X, y = diabetes

    def stopper():
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", min_delta=0.02, patience=0
            )
        ]

    reference, given = twins(X.shape[1])
    history = reference.fit(
        X,
        y,
        batch_size=32,
        epochs=30,
        shuffle=False,
        validation_split=0.2,
        callbacks=stopper(),
        verbose=0,
    ).history
    assert len(history["loss"]) < 30  # the reference stopped early
    reg = KerasRegressor(
        given, epochs=30, shuffle=False, validation_split=0.2, callbacks=stopper()
    ).fit(X, y)
    assert reg.n_iter_ == len(history["loss"])
    assert reg.stop_reason_ == "callback"
    np.testing.assert_allclose(reg.history_["val_loss"], history["val_loss"], rtol=RTOL)


def _cross_validated_r2(make, X, y, n_folds=5):
    scores = []
    for i, (train, test) in enumerate(
        KFold(n_folds, shuffle=True, random_state=0).split(X)
    ):
        with warnings.catch_warnings():  # MLPRegressor stops at max_iter
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = make(i).fit(X[train], y[train])
        scores.append(r2_score(y[test], est.predict(X[test])))
    return float(np.mean(scores))


@pytest.mark.slow
@pytest.mark.parametrize("data", ["diabetes", "friedman"])
def test_defaults_learn_as_well_as_mlpregressor(data, request, recwarn, capfd):
    X, y = request.getfixturevalue(data)
    reference = _cross_validated_r2(lambda i: MLPRegressor(random_state=i), X, y)
    recwarn.clear()
    capfd.readouterr()
    general = _cross_validated_r2(lambda i: KerasRegressor(dense, random_state=i), X, y)
    preset = _cross_validated_r2(lambda i: KerasMLPRegressor(random_state=i), X, y)
    assert general >= reference, (general, reference)
    assert preset >= reference, (preset, reference)
    assert not recwarn.list  # quietly
    assert capfd.readouterr() == ("", "")


def test_scikit_learn_meta_estimators(diabetes):
    X, y = diabetes
    X, y = X[:200], y[:200]

    def reg():
        return KerasRegressor(dense, model__units=8, epochs=3, random_state=0)

    raw_y = y * 50 + 150
    wrapped = TransformedTargetRegressor(reg(), transformer=StandardScaler())
    assert wrapped.fit(X, raw_y).predict(X).shape == (200,)
    pipe = make_pipeline(StandardScaler(), reg()).fit(X, y)
    assert np.isfinite(pipe.score(X, y))
    search = GridSearchCV(
        reg(), {"model__units": [4, 8]}, cv=2, scoring="neg_mean_squared_error"
    ).fit(X, y)
    assert search.best_params_["model__units"] in (4, 8)
    assert cross_val_predict(reg(), X, y, cv=3).shape == (200,)
    Y = np.column_stack([y, -y])
    multi = MultiOutputRegressor(reg()).fit(X, Y)
    assert multi.predict(X).shape == (200, 2)
    stack = StackingRegressor([("keras", reg()), ("ridge", Ridge())], cv=2)
    assert np.isfinite(stack.fit(X, y).score(X, y))


def test_partial_fit_warm_start_and_initialize(diabetes):
    X, y = diabetes
    reference, given = twins(X.shape[1])
    third = compiled(X.shape[1])
    third.set_weights(given.get_weights())
    history = reference.fit(
        X, y, batch_size=32, epochs=3, shuffle=False, verbose=0
    ).history
    reg = KerasRegressor(given, shuffle=False)
    for _ in range(3):
        reg.partial_fit(X, y)
    np.testing.assert_allclose(reg.history_["loss"], history["loss"], rtol=RTOL)
    warm = KerasRegressor(third, epochs=1, warm_start=True, shuffle=False)
    warm.fit(X, y).fit(X, y).fit(X, y)
    np.testing.assert_allclose(warm.history_["loss"], history["loss"], rtol=RTOL)
    trained = KerasRegressor(reference).initialize(X, y)
    np.testing.assert_allclose(
        trained.predict(X[:5]), reference.predict(X[:5], verbose=0)[:, 0], rtol=1e-5
    )
    assert trained.n_iter_ == 0 and trained.history_ == {}


def test_pickle_round_trip(diabetes):
    X, y = diabetes
    reg = KerasRegressor(dense, epochs=2, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    skops = pytest.importorskip("skops.io")
    data = skops.dumps(reg)
    loaded = skops.loads(data, trusted=skops.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def one_output(meta):
    return dense({**meta, "n_outputs_": 1}, units=4)


def test_output_shape_errors_name_both(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match=r"outputs samples of shape \(1,\).*\(2,\)"):
        KerasRegressor(one_output, epochs=1).fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="classifier's loss"):
        KerasRegressor(dense, loss="crossentropy", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        KerasRegressor(dense, epochs=1).fit(X, np.full(len(X), np.nan))


def test_column_y_is_raveled_with_a_warning_as_mlpregressor(diabetes):
    X, y = diabetes
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(max_iter=2).fit(X, y.reshape(-1, 1))
    with pytest.warns(DataConversionWarning):
        reg = KerasRegressor(dense, epochs=1).fit(X, y.reshape(-1, 1))
    assert reg.predict(X).shape == (len(X),)


def test_preset_beats_mlpregressor_defaults_quick(diabetes):
    # The quick form of the slow test above: one split, fixed seeds.
    X, y = diabetes
    train, test = slice(0, 350), slice(350, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peer = MLPRegressor(random_state=0).fit(X[train], y[train])
    ours = KerasMLPRegressor(random_state=0).fit(X[train], y[train])
    assert ours.score(X[test], y[test]) >= peer.score(X[test], y[test]) - 0.05
    assert ours.gd_variant_ == "mini-batch"


# -- SciKeras's documented regressor uses, only the import changed -----------


def get_reg(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1))
    return model


def test_scikeras_basic_usage_regressor():
    # SciKeras's "Basic usage", section 3.
    X_regr, y_regr = make_regression(1000, 20, n_informative=10, random_state=0)
    reg = KerasRegressor(
        model=get_reg,
        loss="mse",
        metrics=[keras.metrics.R2Score],
        hidden_layer_sizes=(100,),
        dropout=0.5,
    )
    reg.fit(X_regr, y_regr)
    y_pred = reg.predict(X_regr[:5])
    assert y_pred.shape == (5,)
    assert "r2_score" in reg.history_


def test_scikeras_mlpregressor_notebook():
    # SciKeras's "MLPClassifier and MLPRegressor" notebook, section 5.
    from typing import Any

    class MLPRegressor(KerasRegressor):
        def __init__(
            self,
            hidden_layer_sizes=(100,),
            optimizer="adam",
            optimizer__learning_rate=0.001,
            epochs=200,
            verbose=0,
            **kwargs,
        ):
            super().__init__(**kwargs)
            self.hidden_layer_sizes = hidden_layer_sizes
            self.optimizer = optimizer
            self.epochs = epochs
            self.verbose = verbose

        def _keras_build_fn(self, compile_kwargs: dict[str, Any]):
            model = keras.Sequential()
            inp = keras.layers.Input(shape=(self.n_features_in_,))
            model.add(inp)
            for hidden_layer_size in self.hidden_layer_sizes:
                layer = keras.layers.Dense(hidden_layer_size, activation="relu")
                model.add(layer)
            out = keras.layers.Dense(1)
            model.add(out)
            model.compile(loss="mse", optimizer=compile_kwargs["optimizer"])
            return model

    reg = MLPRegressor(epochs=20)  # for notebook execution time

    # Define a simple linear relationship
    y = np.arange(100)
    X = (y / 2).reshape(-1, 1)

    # check score
    reg.fit(X, y)
    print(reg.score(X, y))
    # The routed learning rate of the signature reached the optimizer.
    assert float(reg.model_.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert reg.n_iter_ == 20


def test_mlflow_round_trip(diabetes, tmp_path):
    sio = pytest.importorskip("skops.io")
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    X, y = diabetes
    reg = KerasMLPRegressor(epochs=2, random_state=0).fit(X, y)
    trusted = sio.get_untrusted_types(data=sio.dumps(reg))
    mlflow_sklearn.save_model(reg, tmp_path / "model", skops_trusted_types=trusted)
    loaded = mlflow_sklearn.load_model(str(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
