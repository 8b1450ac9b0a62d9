"""SciKeras's own documented classifier examples, with only the import changed.

Each test is the code of a SciKeras documentation page (quick start, basic
usage, the MLPClassifier and meta-estimator notebooks, the benchmarks
page) or of its tests (class weights, warm start, partial_fit), as
published at adriangb/scikeras e92a7dc4, with
``from scikeras.wrappers import KerasClassifier`` replaced by
``from skdigits import KerasClassifier``. The MNIST download is replaced
by the bundled MNIST. Where a line differs for another reason it says
why, and ``docs/migrating.rst`` lists each difference. Their results are
checked loosely (skdigits's defaults train longer than SciKeras's one
epoch).
"""

from typing import Any

import keras
import numpy as np
import pytest

from skdigits import KerasClassifier

# SciKeras's quick-start network passes input_shape to its first Dense layer,
# which Keras 3 warns about: the user's code, kept as published.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not pass an `input_shape`:UserWarning"
)


def get_model(hidden_layer_dim, meta):
    # note that meta is a special argument that will be
    # handed a dict containing input metadata
    n_features_in_ = meta["n_features_in_"]
    X_shape_ = meta["X_shape_"]
    n_classes_ = meta["n_classes_"]

    model = keras.models.Sequential()
    model.add(keras.layers.Dense(n_features_in_, input_shape=X_shape_[1:]))
    model.add(keras.layers.Activation("relu"))
    model.add(keras.layers.Dense(hidden_layer_dim))
    model.add(keras.layers.Activation("relu"))
    model.add(keras.layers.Dense(n_classes_))
    model.add(keras.layers.Activation("softmax"))
    return model


def get_clf(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def get_clf_model(hidden_layer_sizes, meta: dict[str, Any], compile_kwargs):
    model = keras.Sequential()
    inp = keras.layers.Input(shape=(meta["n_features_in_"],))
    model.add(inp)
    for hidden_layer_size in hidden_layer_sizes:
        layer = keras.layers.Dense(hidden_layer_size, activation="relu")
        model.add(layer)
    if meta["target_type_"] == "binary":
        n_output_units = 1
        output_activation = "sigmoid"
        loss = "binary_crossentropy"
    elif meta["target_type_"] == "multiclass":
        n_output_units = meta["n_classes_"]
        output_activation = "softmax"
        loss = "sparse_categorical_crossentropy"
    else:
        raise NotImplementedError(f"Unsupported task type: {meta['target_type_']}")
    out = keras.layers.Dense(n_output_units, activation=output_activation)
    model.add(out)
    model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
    return model


def dynamic_classifier(hidden_layer_sizes=(10,), meta=None, compile_kwargs=None):
    """SciKeras's test helper (scikeras/tests/mlp_models.py)."""
    n_features_in_ = meta["n_features_in_"]
    target_type_ = meta["target_type_"]
    n_classes_ = meta["n_classes_"]
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for size in hidden_layer_sizes:
        model.add(keras.layers.Dense(size, activation="relu"))
    if target_type_ == "binary":
        compile_kwargs["loss"] = compile_kwargs["loss"] or "binary_crossentropy"
        n_output_units, output_activation = 1, "sigmoid"
    else:
        compile_kwargs["loss"] = (
            compile_kwargs["loss"] or "sparse_categorical_crossentropy"
        )
        n_output_units, output_activation = n_classes_, "softmax"
    model.add(keras.layers.Dense(n_output_units, activation=output_activation))
    model.compile(**compile_kwargs)
    return model


@pytest.fixture(scope="module")
def classification():
    from sklearn.datasets import make_classification

    X, y = make_classification(1000, 20, n_informative=10, random_state=0)
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    return X, y


def test_quickstart_training_a_model(classification):
    X, y = classification
    clf = KerasClassifier(
        get_model,
        loss="sparse_categorical_crossentropy",
        hidden_layer_dim=100,
    )
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    assert y_proba.shape == (1000, 2)
    assert clf.score(X, y) > 0.9

    # "In an sklearn Pipeline"
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", clf),
        ]
    )
    pipe.fit(X, y)
    y_proba = pipe.predict_proba(X)
    assert y_proba.shape == (1000, 2)


@pytest.mark.slow  # 54 fits
def test_quickstart_grid_search(classification):
    X, y = classification
    clf = KerasClassifier(
        get_model,
        loss="sparse_categorical_crossentropy",
        hidden_layer_dim=100,
    )
    from sklearn.model_selection import GridSearchCV

    params = {
        "hidden_layer_dim": [50, 100, 200],
        "loss": ["sparse_categorical_crossentropy"],
        "optimizer": ["adam", "sgd"],
        "optimizer__learning_rate": [0.0001, 0.001, 0.1],
    }
    gs = GridSearchCV(clf, params, refit=False, cv=3, scoring="accuracy")
    gs.fit(X, y)
    print(gs.best_score_, gs.best_params_)
    assert gs.best_score_ > 0.8
    assert len(gs.cv_results_["params"]) == 18


def test_basic_usage_binary_classifier(classification):
    from sklearn.datasets import make_classification

    X, y = make_classification(1000, 20, n_informative=10, random_state=0)
    clf = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        hidden_layer_sizes=(100,),
        dropout=0.5,
    )
    clf.fit(X, y)
    y_pred = clf.predict(X[:5])
    y_proba = clf.predict_proba(X[:5])
    assert y_pred.shape == (5,) and y_proba.shape == (5, 2)
    np.testing.assert_allclose(y_proba.sum(axis=1), 1)

    # Saving: pickling the fitted estimator, and the Keras model on its own.
    import pickle

    bytes_model = pickle.dumps(clf)
    new_clf = pickle.loads(bytes_model)
    np.testing.assert_array_equal(new_clf.predict(X[:5]), y_pred)

    # "Usage with an sklearn Pipeline"
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)])
    y_pred = pipe.fit(X, y).predict(X)
    assert (y_pred == y).mean() > 0.8


class MaxValLoss(keras.callbacks.Callback):
    def __init__(self, monitor: str, threashold: float):
        self.monitor = monitor
        self.threashold = threashold

    def on_epoch_end(self, epoch, logs=None):
        if logs[self.monitor] > self.threashold:
            print("Threashold reached; stopping training")
            self.model.stop_training = True


@pytest.fixture(scope="module")
def moons():
    from sklearn.datasets import make_moons

    return make_moons(n_samples=100, noise=0.2, random_state=0)


def test_basic_usage_callbacks(moons, capsys):
    X, y = moons
    kwargs = dict(
        model=get_clf,
        loss="binary_crossentropy",
        dropout=0.5,
        hidden_layer_sizes=(100,),
        metrics=["binary_accuracy"],
        fit__validation_split=0.2,
        epochs=20,
        verbose=False,
        random_state=0,
    )
    # First test without the callback
    clf = KerasClassifier(**kwargs)
    clf.fit(X, y)
    print(f"Trained {len(clf.history_['loss'])} epochs")
    print(f"Final accuracy: {clf.history_['val_binary_accuracy'][-1]}")
    without = len(clf.history_["loss"])

    cb = MaxValLoss(monitor="val_binary_accuracy", threashold=0.75)
    clf = KerasClassifier(**kwargs, callbacks=[cb])
    clf.fit(X, y)
    print(f"Trained {len(clf.history_['loss'])} epochs")
    print(f"Final accuracy: {clf.history_['val_binary_accuracy'][-1]}")
    # The callback stops training once the threshold is passed, if it is.
    stopped = "Threashold reached" in capsys.readouterr().out
    assert (clf.stop_reason_ == "callback") == stopped
    assert len(clf.history_["loss"]) == (without if not stopped else clf.n_iter_)
    assert set(clf.history_) >= {"loss", "binary_accuracy", "val_binary_accuracy"}


@pytest.mark.slow  # 40 fits in 2 processes
def test_basic_usage_grid_search_routed_parameters(moons):
    X, y = moons
    from sklearn.model_selection import GridSearchCV

    clf = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        optimizer="adam",
        optimizer__learning_rate=0.1,
        model__hidden_layer_sizes=(100,),
        model__dropout=0.5,
        verbose=False,
    )
    params = {
        "optimizer__learning_rate": [0.05, 0.1],
        "model__hidden_layer_sizes": [(100,), (50, 50)],
        "model__dropout": [0, 0.5],
    }
    gs = GridSearchCV(clf, params, scoring="accuracy", n_jobs=-1, verbose=True)
    gs.fit(X, y)
    print(gs.best_score_, gs.best_params_)
    assert gs.best_score_ > 0.85
    best = gs.best_estimator_
    assert len(best.model_.layers) == 1 + 2 * len(
        gs.best_params_["model__hidden_layer_sizes"]
    )


def test_mlp_classifier_compile_kwargs():
    clf = KerasClassifier(
        model=get_clf_model,
        hidden_layer_sizes=(100,),
        optimizer="adam",
        optimizer__learning_rate=0.001,
        epochs=50,
        verbose=0,
    )
    from sklearn.datasets import make_classification

    X, y = make_classification()
    clf.fit(X, y)
    print(clf.score(X, y))
    assert clf.score(X, y) > 0.7  # "We get a score above 0.7"


@pytest.mark.slow  # AdaBoost's 50 fits, and Bagging in worker processes
def test_meta_estimators():
    clf = KerasClassifier(
        model=get_clf_model,
        hidden_layer_sizes=(100,),
        optimizer="adam",
        optimizer__learning_rate=0.001,
        verbose=0,
        random_state=0,
    )
    from sklearn.ensemble import AdaBoostClassifier

    adaboost = AdaBoostClassifier(estimator=clf, random_state=0)
    from sklearn.datasets import make_moons

    X, y = make_moons()
    single_score = clf.fit(X, y).score(X, y)
    adaboost_score = adaboost.fit(X, y).score(X, y)
    print(f"Single score: {single_score:.2f}")
    print(f"AdaBoost score: {adaboost_score:.2f}")
    first = adaboost.estimators_[0].model_.get_weights()[0][0, :5]
    second = adaboost.estimators_[1].model_.get_weights()[0][0, :5]
    print(first)  # first sub-estimator
    print(second)  # second sub-estimator
    assert not np.array_equal(first, second)
    from sklearn.ensemble import BaggingClassifier

    bagging = BaggingClassifier(estimator=clf, random_state=0, n_jobs=-1)
    bagging_score = bagging.fit(X, y).score(X, y)
    print(f"Bagging score: {bagging_score:.2f}")
    assert min(single_score, adaboost_score, bagging_score) > 0.85


def test_benchmarks_page_cnn_on_images():
    # The page downloads MNIST; the bundled files are the same images.
    from skdigits.datasets import load_mnist

    # keras.datasets.mnist.load_data() gives uint8 images of 28x28.
    x_train, y_train = load_mnist("train", return_X_y=True, as_images=True, scale=False)
    x_test, y_test = load_mnist("test", return_X_y=True, as_images=True, scale=False)

    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    x_train, y_train = x_train[:2000], y_train[:2000]
    x_test, y_test = x_test[:500], y_test[:500]
    num_classes = 10
    input_shape = (28, 28, 1)

    def get_model():
        model = keras.Sequential(
            [
                keras.Input(input_shape),
                keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                keras.layers.Flatten(),
                keras.layers.Dropout(0.5),
                keras.layers.Dense(num_classes, activation="softmax"),
            ]
        )
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return model

    fit_kwargs = {"batch_size": 128, "validation_split": 0.1, "verbose": 0, "epochs": 5}
    # (The page first trains the same model with raw Keras inside SciKeras's
    # tensorflow_random_state, a SciKeras helper; that part is left out.)
    from sklearn.metrics import accuracy_score

    clf = KerasClassifier(model=get_model, random_state=0, **fit_kwargs)
    clf.fit(x_train, y_train)
    y_pred = clf.predict(x_test)
    print(f"Accuracy: {accuracy_score(y_test, y_pred)}")
    assert accuracy_score(y_test, y_pred) > 0.85


def test_class_weight_balanced(classification):
    X, y = classification
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:100]])
    X, y = X[keep], y[keep]  # 5 to 1
    clf = KerasClassifier(
        model=dynamic_classifier,
        model__hidden_layer_sizes=[],
        class_weight="balanced",
    )
    clf.fit(X, y)
    plain = KerasClassifier(model=dynamic_classifier, model__hidden_layer_sizes=[])
    plain.fit(X, y)
    rare = y == 1
    assert (clf.predict(X[rare]) == 1).mean() >= (plain.predict(X[rare]) == 1).mean()
    clf = KerasClassifier(
        model=dynamic_classifier,
        model__hidden_layer_sizes=[],
        class_weight={0: 0.5, 1: 0.5},
    )
    clf.fit(X, y)


def test_warm_start_and_partial_fit(classification):
    import pickle

    X, y = classification
    est = KerasClassifier(model=dynamic_classifier, epochs=2)
    est.fit(X, y)
    model = est.model_
    est.set_params(warm_start=True)
    est.fit(X, y)
    assert est.model_ is model  # warm: the same model, trained on
    est.set_params(warm_start=False)
    est.fit(X, y)
    assert est.model_ is not model

    clf = KerasClassifier(model=dynamic_classifier, epochs=3)
    for k in range(1, 4):
        clf.partial_fit(X, y)
        assert len(clf.history_["loss"]) == k
    clf.fit(X, y)
    assert len(clf.history_["loss"]) == clf.n_iter_ <= 3
    with pytest.raises(TypeError):
        clf.partial_fit(X, y, epochs=10)

    classes = np.unique(y)
    first = y == classes[0]
    clf = KerasClassifier(model=dynamic_classifier)
    clf.partial_fit(X=X[first], y=y[first], classes=classes)
    clf.partial_fit(X=X[~first], y=y[~first])
    clf = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 3


def test_searchcv_routed_params_reach_model_optimizer():
    # scikeras tests/test_api.py, TestAdvancedAPIFuncs.test_searchcv_routed_params:
    # the fitted model's optimizer is the one the search chose. (Keras 2
    # named an optimizer by its class, "SGD"; Keras 3.15 numbers the names
    # in a process, "sgd_61", even for compile(optimizer="sgd"): the class
    # name is checked instead.)
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    estimator = KerasClassifier(
        dynamic_classifier, epochs=1, model__hidden_layer_sizes=[]
    )
    params = {
        "model__hidden_layer_sizes": [[], [5]],
        "optimizer": ["sgd", "adam"],
    }
    search = GridSearchCV(estimator, params, cv=3).fit(X, y)
    optimizer = search.best_estimator_.model_.optimizer
    assert type(optimizer).__name__.lower() in ("sgd", "adam")
    assert type(optimizer).__name__.lower() == search.best_params_["optimizer"]
    # ... and it carries the training's state, as after model.fit.
    assert int(optimizer.iterations.numpy()) == -(-len(X) // 32)


def test_prebuilt_model_initialize_predicts_without_fitting():
    # scikeras tests/test_api.py, TestPrebuiltModel (a compiled model built
    # outside the wrapper) and the documented use of initialize: "Initialize
    # the model without any fitting ... for example with a pretrained model".
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    meta = {
        "n_classes_": 3,
        "target_type_": "multiclass",
        "n_features_in_": X.shape[1],
        "n_outputs_expected_": 1,
    }
    keras_model = dynamic_classifier(
        meta=meta,
        hidden_layer_sizes=(100,),
        compile_kwargs={"optimizer": "adam", "loss": None, "metrics": None},
    )
    keras_model.fit(X, y, epochs=5, verbose=0)  # trained elsewhere
    est = KerasClassifier(model=keras_model)
    est.initialize(X, y)
    y_pred_keras = keras_model.predict(X, verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(est.predict(X), y_pred_keras)
    assert est.score(X, y) == (y_pred_keras == y).mean()


def test_default_batch_size_is_keras_default(classification):
    # SciKeras's batch_size=None leaves Keras's default of 32: the same
    # epochs train as many steps as model.fit does.
    X, y = classification
    reference = get_model(
        100, {"n_features_in_": 20, "X_shape_": X.shape, "n_classes_": 2}
    )
    reference.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    reference.fit(X, y, epochs=2, verbose=0)
    clf = KerasClassifier(
        get_model,
        loss="sparse_categorical_crossentropy",
        hidden_layer_dim=100,
        epochs=2,
    ).fit(X, y)
    assert clf.batch_size_ == 32
    assert int(clf.model_.optimizer.iterations.numpy()) == int(
        reference.optimizer.iterations.numpy()
    )
