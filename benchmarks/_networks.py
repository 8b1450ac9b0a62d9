"""The user networks of bench_wrappers.py, in a module of their own so that
estimators pickled with them load in a fresh process."""


def dense(meta, units=64):
    """The user's network, as a SciKeras-style model function."""
    import keras

    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def small_cnn(meta):
    import keras

    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def keras_dense(X, y, units=64):
    """The same network for keras.wrappers: it needs a compiled model, and
    gets one-hot targets."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(y.shape[1], activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
