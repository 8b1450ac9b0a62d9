"""Named parameter sets: the one source of truth for the models' defaults.

``"default"`` is what ``KerasMLPClassifier()`` / ``KerasCNNClassifier()``
and ``build_mlp`` / ``build_cnn`` use when nothing is given; the other
presets are the published networks. No Keras import here, so that the
command line can list the presets cheaply.
"""

# The MLP variations of the Flux.jl article: "<n>L<S|R>" is n weight layers,
# sigmoid or relu. 2LR ends in a linear layer followed by softmax. The
# default is one wide relu layer (tuned on load_digits and MNIST subsets,
# see skdigits/_tuning.py).
MLP_PRESETS = {
    "default": {
        "hidden_layer_sizes": (256,),
        "activation": "relu",
        "output_activation": "softmax",
    },
    "4LS": {
        "hidden_layer_sizes": (16, 16, 16),
        "activation": "sigmoid",
        "output_activation": "sigmoid",
    },
    "3LS": {
        "hidden_layer_sizes": (60, 60),
        "activation": "sigmoid",
        "output_activation": "sigmoid",
    },
    "2LR": {
        "hidden_layer_sizes": (32,),
        "activation": "relu",
        "output_activation": "softmax",
    },
}

# "zoo" is the Flux model-zoo CNN and its learning-rate schedule as
# published. The default adds batch normalisation after each convolution and
# random shifts of up to 10% (2.8 pixels on MNIST) during training, with
# gentler, earlier rate drops; "bn-shift" doubles the filters and keeps the
# zoo's schedule (the setting measured at 99.5%).
_ZOO_SCHEDULE = {"lr_patience": 5, "lr_factor": 0.1}
CNN_PRESETS = {
    "default": {
        "filters": (16, 32, 32),
        "batch_norm": True,
        "shift": 0.1,
        "lr_patience": 3,
        "lr_factor": 0.3,
    },
    "zoo": {
        "filters": (16, 32, 32),
        "batch_norm": False,
        "shift": 0.0,
        **_ZOO_SCHEDULE,
    },
    "bn-shift": {
        "filters": (32, 64, 64),
        "batch_norm": True,
        "shift": 0.1,
        **_ZOO_SCHEDULE,
    },
}

# Estimator parameters that switch every training rule off: no learning-rate
# drops, no early exit (convergence or target accuracy), and the weights of
# the last epoch kept. A fit then runs exactly ``epochs`` epochs unless the
# loss turns NaN, as plain Keras ``fit`` does.
RULES_OFF = {
    "lr_patience": None,
    "patience": None,
    "target_accuracy": None,
    "restore_best_weights": False,
}
