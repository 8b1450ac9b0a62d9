"""``KerasTransformer``: a model's outputs, or a layer's, as features.

The reference is Keras: the transformer's ``transform`` is what the same
trained model (or the sub-model up to the named layer) predicts, and its
fit is ``model.fit(X, X)`` for an autoencoder, compared history for history.
"""

import pickle

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skdigits import KerasTransformer
from skdigits.datasets import load_mnist

RTOL = 1e-4


def autoencoder(meta, code=8):
    n = meta["n_features_in_"]
    return keras.Sequential(
        [
            keras.Input((n,)),
            keras.layers.Dense(code, activation="relu", name="code"),
            keras.layers.Dense(n, activation="sigmoid", name="decoded"),
        ]
    )


def test_autoencoder_fit_is_model_fit_on_x(digits):
    X = digits[0][:400].astype(np.float32)
    given = autoencoder({"n_features_in_": 64})
    given.compile(optimizer="adam", loss="binary_crossentropy")
    reference = autoencoder({"n_features_in_": 64})
    reference.set_weights(given.get_weights())
    reference.compile(optimizer="adam", loss="binary_crossentropy")
    history = reference.fit(
        X, X, batch_size=32, epochs=4, shuffle=False, verbose=0
    ).history
    enc = KerasTransformer(given, output_layer="code", epochs=4, shuffle=False)
    codes = enc.fit(X).transform(X)
    np.testing.assert_allclose(enc.history_["loss"], history["loss"], rtol=RTOL)
    encoder = keras.Model(reference.inputs, reference.get_layer("code").output)
    np.testing.assert_allclose(
        codes, encoder.predict(X, verbose=0), rtol=1e-4, atol=1e-5
    )
    assert codes.shape == (400, 8) and codes.dtype == np.float32
    whole = KerasTransformer(given, epochs=4, shuffle=False).fit(X)
    np.testing.assert_allclose(
        whole.transform(X), reference.predict(X, verbose=0), rtol=1e-4, atol=1e-5
    )


def test_a_rows_code_does_not_depend_on_the_rows_with_it(digits):
    # As a classifier's probabilities (scikit-learn's
    # check_methods_sample_order_invariance asks for it to 1e-7, under
    # float32's rounding): the code layer of a dense stack is read in
    # float64, so a row alone, in a batch or in another order gives the
    # same float32 code.
    X = digits[0][:300]
    enc = KerasTransformer(autoencoder, output_layer="code", epochs=2, random_state=0)
    codes = enc.fit(X).transform(X)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(enc.transform(X[order]), codes[order])
    alone = np.concatenate([enc.transform(X[i : i + 1]) for i in range(0, 300, 7)])
    np.testing.assert_array_equal(alone, codes[::7])


def test_embedding_trained_on_labels(digits):
    # y given: the model trains on it (here class indices with a sparse
    # loss), and transform returns the embedding layer's outputs.
    X_train, X_test, y_train, y_test = digits

    def classifier(meta):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(16, activation="relu", name="embedding"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )

    emb = KerasTransformer(
        classifier,
        output_layer="embedding",
        loss="sparse_categorical_crossentropy",
        epochs=20,
        random_state=0,
    )
    pipe = make_pipeline(emb, LogisticRegression(max_iter=1000))
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9
    assert emb.get_feature_names_out().tolist()[:2] == [
        "kerastransformer0",
        "kerastransformer1",
    ]


def test_set_output_pandas_and_feature_names(digits):
    X = pd.DataFrame(digits[0][:200], columns=[f"px{i}" for i in range(64)])
    enc = KerasTransformer(autoencoder, output_layer="code", epochs=2, random_state=0)
    enc.set_output(transform="pandas")
    out = enc.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"kerastransformer{i}" for i in range(8)]
    assert list(enc.feature_names_in_) == list(X.columns)


def test_sparse_autoencoder_and_pickle(digits):
    import scipy.sparse as sp

    X = sp.csr_matrix(digits[0][:300].astype(np.float32))
    enc = KerasTransformer(autoencoder, output_layer="code", epochs=2, random_state=0)
    dense = KerasTransformer(autoencoder, output_layer="code", epochs=2, random_state=0)
    codes = enc.fit(X).transform(X)
    np.testing.assert_allclose(
        codes, dense.fit(X.toarray()).transform(X.toarray()), rtol=1e-4, atol=1e-5
    )
    loaded = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(loaded.transform(X), codes)


def test_unknown_layer_is_a_clear_error(digits):
    with pytest.raises(ValueError, match="'nope' is not a layer.*code"):
        KerasTransformer(autoencoder, output_layer="nope", epochs=1).fit(digits[0])


def test_output_that_does_not_fit_x(digits):
    def short(meta):
        return keras.Sequential([keras.Input((64,)), keras.layers.Dense(3)])

    with pytest.raises(ValueError, match=r"\(3,\).*X has samples of shape \(64,\)"):
        KerasTransformer(short, epochs=1).fit(digits[0])


@pytest.mark.slow
def test_scikeras_autoencoder_notebook():
    # SciKeras's AutoEncoders notebook, on the bundled MNIST. Its
    # AutoEncoder subclasses SciKeras's BaseWrapper and reads its private
    # encoders; with skdigits the same network is a model function and the
    # code layer's name, KerasTransformer's output_layer (docs/migrating.rst).
    # The notebook's keras.datasets.mnist.load_data(), from the bundled files.
    x_train, _ = load_mnist("train", return_X_y=True, as_images=True, scale=False)
    x_test, _ = load_mnist("test", return_X_y=True, as_images=True, scale=False)
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    x_train = x_train.reshape((len(x_train), np.prod(x_train.shape[1:])))
    x_test = x_test.reshape((len(x_test), np.prod(x_test.shape[1:])))

    def build(encoding_dim, meta):
        n_features_in = meta["n_features_in_"]
        encoder_input = keras.Input(shape=(n_features_in,))
        encoder_output = keras.layers.Dense(
            encoding_dim, activation="relu", name="encoder"
        )(encoder_input)
        decoder_output = keras.layers.Dense(
            n_features_in, activation="sigmoid", name="decoder"
        )(encoder_output)
        return keras.Model(encoder_input, decoder_output)

    autoencoder = KerasTransformer(
        build,
        output_layer="encoder",
        loss="binary_crossentropy",
        encoding_dim=32,
        random_state=0,
        epochs=5,
        verbose=False,
        optimizer="adam",
    )
    autoencoder.fit(X=x_train)
    encoded_imgs = autoencoder.transform(x_test)
    assert encoded_imgs.shape == (len(x_test), 32)
    cr = round((encoded_imgs.nbytes / x_test.nbytes), 2)
    assert cr == 0.04  # the notebook's "Compression ratio: 1/24"
    decoder = autoencoder.model_.get_layer("decoder")
    roundtrip_imgs = decoder(encoded_imgs).numpy()
    score = 1 - np.mean((roundtrip_imgs - x_test) ** 2)
    assert score > 0.98  # the notebook reports 0.99 for 1-MSE
