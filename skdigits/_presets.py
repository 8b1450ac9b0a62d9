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

# The CNN presets give every parameter of the network and of its training,
# so that each is complete on its own (from_preset overrides the defaults).
#
# "default" trains a lean network on a one-cycle schedule (the rate rises
# over the first quarter of the steps, then decays to 0) with no plateau
# rules: the zoo's convolutions without batch normalisation (which cost
# 40% of a step on a CPU) and with 8 filters in the first (whose 28x28
# activations cost most of a step), a dense layer of 128 units with
# dropout, whole-pixel shifts of up to 2 pixels on MNIST ("auto"), no
# input noise; on all of MNIST "auto" gives 8 epochs on every row. "v0.2"
# is skdigits 0.2's default (16 first filters, sub-pixel shifts of up to
# 5%, 9 epochs). "v0.1" is skdigits 0.1's default (batch normalisation, shifts
# of 10%, input noise, rate drops on a plateau over up to 20 epochs, a 10%
# hold-out to monitor). "wide" doubles the default's filters and shifts up
# to 10% over 10 one-cycle epochs, ending on the epoch best on a 10%
# hold-out (99.5% on MNIST in 0.7x the time of "v0.1"). "zoo" is the Flux
# model-zoo CNN and its schedule as published; "bn-shift" doubles the
# filters of "v0.1" with the zoo's drops.
# benchmarks/README.md has how each was chosen and what it reaches.
_CNN_DEFAULT = {
    "filters": (8, 32, 32),
    "batch_norm": False,
    "shift": "auto",
    "noise_std": 0.0,
    "dense_units": 128,
    "dropout": 0.3,
    "learning_rate": 5e-3,
    "lr_schedule": "one-cycle",
    "lr_patience": None,
    "lr_factor": 0.3,
    "patience": None,
    "restore_best_weights": False,
    "epochs": "auto",
    "validation_fraction": "auto",
}
_PLATEAU = {
    "lr_schedule": None,
    "learning_rate": 3e-3,
    "patience": 10,
    "restore_best_weights": True,
    "dense_units": None,
    "dropout": 0.0,
}
_CNN_V02 = {**_CNN_DEFAULT, "filters": (16, 32, 32), "shift": 0.05}
CNN_PRESETS = {
    "default": _CNN_DEFAULT,
    "v0.2": {**_CNN_V02, "epochs": 9},
    "v0.1": {
        **_CNN_V02,
        **_PLATEAU,
        "batch_norm": True,
        "shift": 0.1,
        "noise_std": 0.1,
        "lr_patience": 3,
        "lr_factor": 0.3,
    },
    "zoo": {
        **_CNN_V02,
        **_PLATEAU,
        "batch_norm": False,
        "shift": 0.0,
        "noise_std": 0.1,
        "lr_patience": 5,
        "lr_factor": 0.1,
    },
    "wide": {
        **_CNN_V02,
        "filters": (32, 64, 64),
        "shift": 0.1,
        "epochs": 10,
        "validation_fraction": 0.1,
        "restore_best_weights": True,
    },
    "bn-shift": {
        **_CNN_V02,
        **_PLATEAU,
        "filters": (32, 64, 64),
        "batch_norm": True,
        "shift": 0.1,
        "noise_std": 0.1,
        "lr_patience": 5,
        "lr_factor": 0.1,
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
