"""KerasClassifier: any Keras model, trained the skdigits way."""

import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skdigits import RULES_OFF, KerasClassifier, KerasMLPClassifier
from skdigits.callbacks import BestModel, EarlyExit, LearningRateDrop


def dense_net(meta, units=16, activation="softmax"):
    """A model function: one hidden layer, an output unit per class."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation=activation),
        ]
    )


def binary_net(meta, units=8):
    """One sigmoid unit, as SciKeras's binary examples build it."""
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def two_inputs():
    a, b = keras.Input((64,)), keras.Input((64,))
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Add()([a, b]))
    return keras.Model([a, b], out)


@pytest.fixture(scope="module")
def small(digits):
    X_train, X_test, y_train, y_test = digits
    return X_train[:600], X_test, y_train[:600], y_test


def quick(**params):
    return KerasClassifier(
        dense_net, **{"epochs": 5, "random_state": 0, "learning_rate": 0.01, **params}
    )


# -- models given built, and model functions ----------------------------------


def test_compiled_model_is_cloned_used_as_compiled_and_left_untouched(small):
    X, X_test, y, y_test = small
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", "sparse_top_k_categorical_accuracy"],
    )
    before = [w.copy() for w in model.get_weights()]
    est = KerasClassifier(model, epochs=5, random_state=0).fit(X, y)
    # The user's model is not trained; the estimator's is a new object that
    # started from the given weights, with the model's own optimizer.
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.model_ is not model
    assert int(model.optimizer.iterations.numpy()) == 0
    # model_ is compiled as the model was, and carries its training state.
    assert isinstance(est.model_.optimizer, keras.optimizers.SGD)
    assert est.model_.optimizer.get_config()["momentum"] == pytest.approx(0.9)
    assert int(est.model_.optimizer.iterations.numpy()) == 5 * -(-len(X) // 32)
    assert "sparse_top_k_categorical_accuracy" in est.history_
    assert est.score(X_test, y_test) > 0.85
    # Clones share the network given (it is never trained), rather than
    # copying it through Keras's saving for every fit of a search.
    assert clone(est).model is model


def test_model_instance_refuses_routed_model_parameters(small):
    X, _, y, _ = small
    model = dense_net({"X_shape_": X.shape, "n_classes_": 10})
    with pytest.raises(ValueError, match="model__units"):
        KerasClassifier(model, model__units=8, epochs=1).fit(X, y)


def test_model_function_arguments(small):
    X, _, y, _ = small
    seen = {}

    def build(meta, compile_kwargs, params, units):
        seen.update(meta=meta, compile_kwargs=compile_kwargs, params=params)
        return dense_net(meta, units)

    est = KerasClassifier(
        build, units=8, optimizer="sgd", optimizer__momentum=0.5, epochs=1
    ).fit(X, y)
    meta = seen["meta"]
    assert meta["n_features_in_"] == 64 and meta["X_shape_"] == (len(X), 64)
    assert meta["n_classes_"] == 10 and meta["target_type_"] == "multiclass"
    np.testing.assert_array_equal(meta["classes_"], np.arange(10))
    assert meta["n_outputs_expected_"] == 1
    optimizer = seen["compile_kwargs"]["optimizer"]
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.momentum == 0.5
    assert seen["params"]["units"] == 8
    assert est.model_.layers[0].units == 8


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"unit": 8}, "takes no argument 'unit'"),
        ({"model__unit": 8}, "takes no argument 'unit'"),
        ({"model": lambda meta, units: dense_net(meta, units)}, "needs 'units'"),
        ({"model": None}, "needs a model"),
        ({"model": lambda meta: "a string"}, "not a keras.Model"),
        ({"fit__steps": 3}, "fit__steps"),
        ({"optimizer": "adam", "optimizer__nonsense": 1}, "nonsense"),
        ({"learning_rate": 0.1, "optimizer__learning_rate": 0.1}, "both set"),
        ({"loss": "no_such_loss"}, "no_such_loss"),
        ({"metrics": ["no_such_metric"]}, "no_such_metric"),
        ({"steps_per_execution": 0}, "steps_per_execution"),
        ({"compile__run_eagerly": True}, "routes parameters"),
        ({"predict__callbacks": []}, "predict__callbacks"),
        (
            {
                "callbacks": keras.callbacks.LearningRateScheduler,
                "callbacks__0": abs,
            },
            "positional",
        ),
        ({"model": lambda meta: two_inputs()}, "2 inputs"),
    ],
)
def test_bad_parameters_are_clear_errors(params, match, small):
    X, _, y, _ = small
    est = quick(**params) if "model" not in params else KerasClassifier(**params)
    with pytest.raises((ValueError, TypeError), match=match):
        est.set_params(epochs=1).fit(X, y)
    assert not hasattr(est, "model_") and not hasattr(est, "n_features_in_")


def test_routed_parameters_survive_clone_set_params_and_search(small):
    X, _, y, _ = small
    est = KerasClassifier(dense_net, model__units=4, random_state=0, **RULES_OFF)
    assert est.get_params()["model__units"] == 4
    est.set_params(model__units=6, optimizer__learning_rate=0.02)
    copy = clone(est)
    assert copy.get_params()["model__units"] == 6
    assert copy.get_params()["optimizer__learning_rate"] == 0.02
    search = GridSearchCV(
        est,
        {"model__units": [4, 8], "epochs": [2, 3]},
        cv=2,
    ).fit(X, y)
    # Every candidate trained the epochs it asked for; the refit too.
    best = search.best_estimator_
    assert best.n_iter_ == search.best_params_["epochs"]
    assert len(best.history_["loss"]) == best.n_iter_
    assert best.model_.layers[0].units == search.best_params_["model__units"]
    assert "model=<function dense_net" in repr(est) and "model__units=6" in repr(est)


def test_optimizer_loss_metrics_and_callbacks_by_class_and_routed(small):
    X, _, y, _ = small
    est = quick(
        optimizer=keras.optimizers.RMSprop,
        optimizer__rho=0.8,
        loss=keras.losses.CategoricalCrossentropy,
        loss__label_smoothing=0.1,
        metrics=["mae", keras.metrics.TopKCategoricalAccuracy],
        metrics__1__k=2,
        callbacks=[keras.callbacks.EarlyStopping],
        callbacks__monitor="loss",
        callbacks__patience=50,
        validation_fraction=0.2,
    ).fit(X, y)
    assert {"mae", "top_k_categorical_accuracy", "val_mae"} <= set(est.history_)
    (stopper,) = est.callbacks_
    assert isinstance(stopper, keras.callbacks.EarlyStopping)
    assert stopper.patience == 50
    top2 = est.history_["top_k_categorical_accuracy"][-1]
    assert top2 >= est.history_["accuracy"][-1]


# -- data: images, sequences, binary and multiclass targets ------------------


def test_images_for_a_convolutional_model(small):
    X, X_test, y, y_test = small

    def cnn(meta):
        return keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Conv2D(8, 3, activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    images = X.reshape(-1, 8, 8, 1)
    est = KerasClassifier(cnn, epochs=8, learning_rate=0.01, random_state=0)
    est.fit(images, y)
    assert est.input_shape_ == (8, 8, 1) and est.n_features_in_ == 8
    proba = est.predict_proba(X_test.reshape(-1, 8, 8, 1))
    assert est.score(X_test.reshape(-1, 8, 8, 1), y_test) > 0.85
    # One image alone gets what it gets among the others.
    np.testing.assert_allclose(
        est.predict_proba(X_test[:1].reshape(-1, 8, 8, 1)), proba[:1], atol=1e-6
    )
    with pytest.raises(ValueError, match="shape"):
        est.predict(X_test.reshape(-1, 4, 16, 1))


def test_rows_reshaped_to_a_model_that_takes_images(small):
    X, X_test, y, y_test = small
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    est = KerasClassifier(model, epochs=8, learning_rate=0.01, random_state=0)
    est.fit(X, y)  # rows of 64 pixels, as a Pipeline's scaler gives them
    assert est.input_shape_ == (64,)
    assert est.score(X_test, y_test) > 0.85
    with pytest.raises(ValueError, match="shape"):
        KerasClassifier(model, epochs=1).fit(X[:, :60], y)


def test_sequences_for_a_recurrent_model(small):
    X, X_test, y, y_test = small

    def rnn(meta):
        return keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.GRU(16),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    # Each image as a sequence of 8 rows of 8 pixels.
    est = KerasClassifier(rnn, epochs=15, learning_rate=0.01, random_state=0)
    est.fit(X.reshape(-1, 8, 8), y)
    assert est.input_shape_ == (8, 8)
    assert est.score(X_test.reshape(-1, 8, 8), y_test) > 0.7


@pytest.mark.parametrize("head", ["sigmoid", "softmax", "logits"])
def test_binary_targets(head, small):
    X, X_test, y, y_test = small
    labels = np.array(["small", "large"])
    y2, y2_test = labels[(y >= 5).astype(int)], labels[(y_test >= 5).astype(int)]
    if head == "sigmoid":
        est = KerasClassifier(binary_net, loss="binary_crossentropy")
    elif head == "softmax":
        est = KerasClassifier(dense_net, loss="sparse_categorical_crossentropy")
    else:  # a linear output: "crossentropy" reads logits
        est = KerasClassifier(dense_net, model__activation="linear")
    est.set_params(epochs=10, learning_rate=0.01, random_state=0).fit(X, y2)
    np.testing.assert_array_equal(est.classes_, ["large", "small"])
    assert est._units == (1 if head == "sigmoid" else 2)
    proba = est.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert (proba >= 0).all()
    assert est.score(X_test, y2_test) > 0.85
    assert set(est.predict(X_test[:20])) <= set(labels)


def test_binary_model_must_fit_the_classes(small):
    X, _, y, _ = small
    with pytest.raises(ValueError, match="output units"):
        KerasClassifier(binary_net, epochs=1).fit(X, y)  # 10 classes, 1 unit


def test_class_weight_is_sample_weight_by_label(small):
    X, _, y, _ = small
    weights = {label: 1.0 + label / 10 for label in range(10)}
    by_class = quick(class_weight=weights).fit(X, y)
    by_sample = quick().fit(X, y, sample_weight=np.array([weights[v] for v in y]))
    np.testing.assert_allclose(
        by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-6
    )
    # "balanced": rare classes weigh more; the weighted accuracy is logged.
    rare = np.concatenate([np.flatnonzero(y != 3), np.flatnonzero(y == 3)[:5]])
    balanced = quick(class_weight="balanced").fit(X[rare], y[rare])
    plain = quick().fit(X[rare], y[rare])
    assert (balanced.predict(X[y == 3]) == 3).mean() >= (
        plain.predict(X[y == 3]) == 3
    ).mean()


# -- training rules and validation ---------------------------------------------


@pytest.mark.parametrize(
    "callback",
    [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3),
        EarlyExit(),
        LearningRateDrop(),
        BestModel(),
    ],
    ids=["EarlyStopping", "EarlyExit", "LearningRateDrop", "BestModel"],
)
def test_a_callback_that_monitors_validation_works_with_defaults(callback, digits):
    # load_digits is under the 10,000 rows from which "auto" holds out by
    # itself: a callback watching a "val_" metric makes it hold out 10%.
    X, X_test, y, y_test = digits
    est = KerasMLPClassifier(callbacks=[callback], random_state=0).fit(X, y)
    assert len(est.history_["val_loss"]) == est.n_iter_
    assert est.score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match="validation_fraction=0"):
        KerasMLPClassifier(callbacks=[callback], validation_fraction=0).fit(X, y)


def test_validation_split_as_scikeras_names_it(small):
    X, _, y, _ = small
    est = quick(validation_split=0.25).fit(X, y)
    assert len(est.history_["val_accuracy"]) == est.n_iter_
    est = quick(fit__validation_split=0.25, fit__epochs=2, shuffle=False).fit(X, y)
    assert est.n_iter_ <= 2 and "val_loss" in est.history_
    with pytest.raises(ValueError, match="both set"):
        quick(validation_split=0.2, validation_fraction=0.1).fit(X, y)


def test_same_random_state_same_model_without_global_seeds(small):
    X, X_test, y, _ = small

    def unseeded(meta):  # initializers and dropout without seeds
        return keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dropout(0.3),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )

    a = KerasClassifier(unseeded, epochs=3, random_state=5).fit(X, y)
    b = KerasClassifier(unseeded, epochs=3, random_state=5).fit(X, y)
    c = KerasClassifier(unseeded, epochs=3, random_state=6).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert not np.array_equal(a.predict_proba(X_test), c.predict_proba(X_test))


# -- continuing, and all-or-nothing fitted state --------------------------------


class Interrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (Ctrl-C) at the end of the fit's n-th epoch."""

    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch
        self.seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.at_epoch:
            raise KeyboardInterrupt


def _state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_")}


@pytest.mark.parametrize("make", [quick, KerasMLPClassifier], ids=["any", "mlp"])
def test_interrupted_fit_leaves_the_estimator_as_it_was(make, small):
    X, X_test, y, _ = small
    est = make(callbacks=[Interrupt(at_epoch=2)], epochs=4)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert _state(est) == {}  # unfitted, as before
    est.set_params(callbacks=None, random_state=0).fit(X, y)
    before, proba = _state(est), est.predict_proba(X_test)
    weights = [w.copy() for w in est.model_.get_weights()]
    for params in ({"warm_start": False}, {"warm_start": True}):
        est.set_params(callbacks=[Interrupt(at_epoch=2)], **params)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X[::-1], y[::-1])
        after = _state(est)
        assert after.keys() == before.keys()
        assert all(after[k] is before[k] for k in before)
        for a, b in zip(est.model_.get_weights(), weights, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(est.predict_proba(X_test), proba)
    # partial_fit, which runs no rules, stops at the user's callback too.
    est.set_params(warm_start=False, callbacks=None).fit(X, y)
    est.callbacks_ = [Interrupt(at_epoch=1)]
    state = _state(est)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X, y)
    assert _state(est) == state


def test_warm_start_with_another_architecture_is_an_error(small):
    X, _, y, _ = small
    est = quick(model__units=8, warm_start=True).fit(X, y)
    est.fit(X, y)  # same network: trains on
    assert est.n_iter_ == 10
    with pytest.raises(ValueError, match="warm_start"):
        est.set_params(model__units=9).fit(X, y)
    mlp = KerasMLPClassifier(epochs=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="warm_start"):
        mlp.set_params(hidden_layer_sizes=(8,)).fit(X, y)
    assert mlp.model_.layers[0].units == 256


def test_partial_fit_and_warm_start(small):
    X, X_test, y, y_test = small
    est = KerasClassifier(dense_net, learning_rate=0.01, random_state=0)
    est.partial_fit(X[:300], y[:300], classes=np.arange(10))
    for _ in range(4):
        est.partial_fit(X, y)
    assert est.n_iter_ == 5 and len(est.history_["loss"]) == 5
    assert est.score(X_test, y_test) > 0.5
    loaded = pickle.loads(pickle.dumps(est))
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == 6


# -- saving --------------------------------------------------------------------------

CUSTOM_LAYERS = """
import keras


@keras.saving.register_keras_serializable(package="skdigits_tests")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(keras.layers.Layer):
    def call(self, x):
        return x * 2.0
"""

# A model function that finds the layer through Keras's registry, so that
# loading the pickled estimator does not import custom_layers_mod by itself.
MODEL_FUNCTIONS = """
import keras


def with_scale(meta):
    scale = keras.saving.get_registered_object("skdigits_tests>Scale")
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            scale(),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
"""


@pytest.fixture
def custom_layers(tmp_path, monkeypatch):
    (tmp_path / "custom_layers_mod.py").write_text(CUSTOM_LAYERS)
    (tmp_path / "model_functions_mod.py").write_text(MODEL_FUNCTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import custom_layers_mod

    yield tmp_path, custom_layers_mod
    sys.modules.pop("custom_layers_mod", None)
    sys.modules.pop("model_functions_mod", None)


def _with_layer(layer):
    def build(meta):
        return keras.Sequential(
            [
                keras.Input((64,)),
                layer(),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    return build


def test_registered_custom_layer_round_trips_in_a_fresh_process(custom_layers, small):
    folder, _ = custom_layers
    import model_functions_mod

    X, X_test, y, _ = small
    est = KerasClassifier(model_functions_mod.with_scale, epochs=2, random_state=0)
    est.fit(X, y)
    path = folder / "est.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(folder / "X.npy", X_test)
    np.save(folder / "expected.npy", est.predict_proba(X_test))
    # A fresh process that never imports custom_layers_mod itself.
    script = textwrap.dedent(
        f"""
        import pickle, sys
        import numpy as np
        sys.path.insert(0, {str(folder)!r})
        est = pickle.loads(open({str(path)!r}, "rb").read())
        got = est.predict_proba(np.load({str(folder / "X.npy")!r}))
        np.testing.assert_array_equal(got, np.load({str(folder / "expected.npy")!r}))
        print(type(est.model_.layers[0]).__module__, "custom_layers_mod" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "custom_layers_mod True"


def test_unregistered_custom_layer_is_refused_when_pickling(custom_layers, small):
    _, module = custom_layers
    X, _, y, _ = small
    est = KerasClassifier(_with_layer(module.Unregistered), epochs=1).fit(X, y)
    with pytest.raises(TypeError, match=r"custom_layers_mod\.Unregistered"):
        pickle.dumps(est)
