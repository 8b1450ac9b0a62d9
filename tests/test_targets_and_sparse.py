"""Targets beyond one column (multilabel), sparse input, and pickles of the
last release, against their references: ``MLPClassifier`` on the same
data, ``model.fit`` on the same rows, the predictions a pickle was saved
with."""

import pickle
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import type_of_target

from skdigits import (
    KerasClassifier,
    KerasCNNClassifier,
    KerasMLPClassifier,
    KerasRegressor,
)

RTOL = 1e-4
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        400, n_features=20, n_classes=4, random_state=0
    )
    return X.astype(np.float32) / X.max(), Y


def labels_net(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="sigmoid"),
        ]
    )


# -- multilabel targets ----------------------------------------------------------


def test_multilabel_as_mlpclassifier(multilabel):
    X, Y = multilabel
    assert type_of_target(Y) == "multilabel-indicator"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peer = MLPClassifier(random_state=0).fit(X[:300], Y[:300])
    ours = KerasMLPClassifier(random_state=0).fit(X[:300], Y[:300])
    for method in ("predict", "predict_proba"):
        expected = getattr(peer, method)(X[300:])
        got = getattr(ours, method)(X[300:])
        assert got.shape == expected.shape and got.dtype.kind == expected.dtype.kind
    np.testing.assert_array_equal(ours.classes_, peer.classes_)
    assert set(np.unique(ours.predict(X))) <= {0, 1}
    proba = ours.predict_proba(X[300:])
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(ours.predict(X[300:]), (proba > 0.5).astype(int))
    # Subset accuracy, as scikit-learn's score gives it for both.
    assert ours.score(X[300:], Y[300:]) >= peer.score(X[300:], Y[300:]) - 0.1
    assert ours.model_.layers[-1].activation.__name__ == "sigmoid"


def test_multilabel_fit_matches_model_fit(multilabel):
    X, Y = multilabel
    given = labels_net({"n_features_in_": 20, "n_classes_": 4})
    given.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    reference = labels_net({"n_features_in_": 20, "n_classes_": 4})
    reference.set_weights(given.get_weights())
    reference.compile(
        optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = reference.fit(
        X, Y.astype("float32"), batch_size=32, epochs=4, shuffle=False, verbose=0
    ).history
    clf = KerasClassifier(given, epochs=4, shuffle=False).fit(X, Y)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(clf.history_[key], history[key], rtol=RTOL)
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict(X, verbose=0), rtol=1e-4, atol=1e-6
    )


def test_multilabel_with_the_default_loss_and_logits(multilabel):
    X, Y = multilabel

    def logits(meta):
        return keras.Sequential(
            [keras.Input((20,)), keras.layers.Dense(meta["n_classes_"])]
        )

    clf = KerasClassifier(logits, epochs=3, random_state=0).fit(X, Y)
    loss = clf.model_.loss
    assert isinstance(loss, keras.losses.BinaryCrossentropy)
    assert loss.get_config()["from_logits"]
    proba = clf.predict_proba(X)
    assert ((proba > 0) & (proba < 1)).all()


def test_target_errors_name_the_shapes(multilabel):
    X, Y = multilabel

    def softmax_net(meta):
        return keras.Sequential(
            [keras.Input((20,)), keras.layers.Dense(4, activation="softmax")]
        )

    with pytest.raises(ValueError, match="4 output units of softmax.*4 labels"):
        KerasClassifier(softmax_net, epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="3 output units.*4 labels"):
        KerasClassifier(
            lambda meta: labels_net({**meta, "n_classes_": 3}), epochs=1
        ).fit(X, Y)
    multiclass_multioutput = np.column_stack([Y[:, 0] * 2 + Y[:, 1], Y[:, 2]])
    assert type_of_target(multiclass_multioutput) == "multiclass-multioutput"
    with pytest.raises(ValueError, match="multiclass-multioutput.*MultiOutputClas"):
        KerasClassifier(labels_net, epochs=1).fit(X, multiclass_multioutput)
    with pytest.raises(ValueError, match="sparse loss.*multilabel"):
        KerasClassifier(
            labels_net, loss="sparse_categorical_crossentropy", epochs=1
        ).fit(X, Y)


# -- sparse input ----------------------------------------------------------------


@pytest.fixture
def densified(monkeypatch):
    """The row counts of every sparse matrix made dense during the test."""
    sizes = []
    for kind in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        original = kind.toarray

        def toarray(self, *args, _original=original, **kwargs):
            sizes.append(self.shape[0])
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(kind, "toarray", toarray)
    return sizes


@pytest.mark.parametrize("kind", ["csr", "csc"])
def test_sparse_fit_matches_dense_model_fit(digits, kind, densified):
    X = digits[0][:400].astype(np.float32)
    X[X < 0.3] = 0  # sparser
    y = digits[2][:400]
    X_sparse = sp.csr_matrix(X) if kind == "csr" else sp.csc_matrix(X)

    def net():
        return keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )

    given, reference = net(), net()
    reference.set_weights(given.get_weights())
    for model in (given, reference):
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    history = reference.fit(
        X, y, batch_size=32, epochs=3, shuffle=False, validation_split=0.2, verbose=0
    ).history
    clf = KerasClassifier(given, epochs=3, shuffle=False, validation_split=0.2)
    clf.fit(X_sparse, y)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(clf.history_[key], history[key], rtol=RTOL)
    np.testing.assert_allclose(
        clf.predict_proba(X_sparse),
        reference.predict(X, verbose=0),
        rtol=1e-4,
        atol=1e-6,
    )
    clf.partial_fit(X_sparse, y)
    assert clf.n_iter_ == 4
    assert all(n < len(X) for n in densified), densified  # never all of X


def test_sparse_presets_and_graph_predictor(digits, densified):
    X_train, X_test, y_train, y_test = digits
    mlp = KerasMLPClassifier(epochs=5, random_state=0)
    dense = KerasMLPClassifier(epochs=5, random_state=0).fit(X_train, y_train)
    mlp.fit(sp.csr_matrix(X_train), y_train)
    np.testing.assert_allclose(
        mlp.predict_proba(sp.csr_matrix(X_test)),
        dense.predict_proba(X_test),
        rtol=1e-4,
        atol=1e-6,
    )
    cnn = KerasCNNClassifier(epochs=1, random_state=0)
    cnn.fit(sp.csr_matrix(X_train), y_train)
    proba = cnn.predict_proba(sp.csr_matrix(X_test))
    assert proba.shape == (len(X_test), 10)
    assert all(n < len(X_train) for n in densified), densified


def test_sparse_jit_is_a_clear_error(digits):
    X, y = sp.csr_matrix(digits[0]), digits[2]
    with pytest.raises(ValueError, match="jit_compile=True cannot train on sparse"):
        KerasMLPClassifier(epochs=1, jit_compile=True).fit(X, y)


def get_clf(meta) -> keras.Model:
    n_features_in_ = meta["n_features_in_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    # a single hidden layer
    model.add(keras.layers.Dense(100, activation="relu"))
    model.add(keras.layers.Dense(1))
    return model


@pytest.mark.slow
def test_scikeras_sparse_notebook(densified):
    # SciKeras's "Sparse Inputs" notebook: a one-hot matrix as wide as it is
    # long (20,000 x 20,000: 1.6 GB dense in float32), its sparse pipeline.
    # The notebook measures memory with IPython's %memit; here, no
    # densified matrix holds more than a batch or a prediction chunk.
    N_SAMPLES = 20_000  # hand tuned to be ~4GB peak
    X = np.arange(0, N_SAMPLES).reshape(-1, 1)
    y = np.random.uniform(0, 1, size=(X.shape[0],))  # noqa: NPY002 (as published)
    sparse_pipeline = Pipeline(
        [
            ("encoder", OneHotEncoder(sparse_output=True)),
            ("model", KerasRegressor(get_clf, loss="mse", epochs=5, verbose=False)),
        ]
    )
    sparse_pipeline.fit(X, y)
    assert sparse_pipeline.predict(X[:10]).shape == (10,)
    assert sparse_pipeline[-1].n_iter_ == 5
    assert all(n < N_SAMPLES for n in densified), densified


# -- pickles of the last release ----------------------------------------------------


@pytest.mark.parametrize("name", ["mlp", "cnn", "given"])
def test_release_pickles_load_and_predict(name):
    # Made by tests/scripts/make_release_pickles.py with skdigits 0.2 on the
    # oldest versions; scikit-learn says when it loads its own objects from
    # another version.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        record = pickle.loads((DATA / f"release-0.2-{name}.pkl").read_bytes())
    est = record["estimator"]
    np.testing.assert_allclose(
        est.predict_proba(record["X"]), record["proba"], rtol=1e-5, atol=1e-6
    )
    # A warm start carries on from the loaded network.
    if name != "given":
        before = est.n_iter_
        est.set_params(warm_start=True, epochs=1)
        est.fit(record["X"], est.predict(record["X"]))
        assert est.n_iter_ == before + 1
