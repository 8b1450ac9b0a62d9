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


def keras_dense_accuracy(X, y, units=64):
    """``keras_dense`` compiled with the accuracy, for callbacks that
    monitor it."""
    model = keras_dense(X, y, units)
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def counting_dense(meta, units=64):
    """``dense`` as a model class that overrides ``train_step``, as Keras's
    guide "Customizing what happens in fit()" teaches (it counts its
    steps)."""
    import keras

    return _counting_class()(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


_COUNTING = []


def _counting_class():
    if _COUNTING:
        return _COUNTING[0]
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable("skdigits_benchmarks")
    class CountingSequential(keras.Sequential):
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

    _COUNTING.append(CountingSequential)
    return CountingSequential
