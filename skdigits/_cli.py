"""The ``skdigits`` command: train, evaluate, predict, export and serve."""

import argparse
import os
import sys
from pathlib import Path

# (Importing skdigits quiets TensorFlow's C++ start-up lines already.)
from skdigits._presets import CNN_PRESETS, MLP_PRESETS

# "cnn" and "mlp" are the estimators' defaults; "cnn-<preset>" and the MLP
# preset names are the others.
MODELS = {
    "cnn": ("cnn", "default"),
    **{f"cnn-{name}": ("cnn", name) for name in CNN_PRESETS if name != "default"},
    "mlp": ("mlp", "default"),
    **{name: ("mlp", name) for name in MLP_PRESETS if name != "default"},
}


class CLIError(Exception):
    """A user-facing error: printed on one line, exit status 1."""


def _parser():
    parser = argparse.ArgumentParser(
        prog="skdigits", description="Keras digit classifiers, scikit-learn style."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train on the MNIST training set, then test"
    )
    train.add_argument(
        "--model", default="cnn", help=f"one of {', '.join(MODELS)} (default: cnn)"
    )
    # Unset options keep the estimator's own defaults (the docstrings say
    # what they are; batch size and epochs adapt to the data).
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--optimizer", default=None)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument("--loss", default=None, choices=("crossentropy", "mse"))
    train.add_argument(
        "--output",
        default="skdigits-model.joblib",
        help="where to save the fitted estimator (joblib)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--max-samples",
        type=int,
        default=None,
        help="train on the first N training images only (quick runs)",
    )
    train.add_argument("--data-home", default=None, help="a folder of IDX files")

    evaluate = commands.add_parser("evaluate", help="test accuracy and report")
    evaluate.add_argument("model", help="a file saved by 'skdigits train'")
    evaluate.add_argument("--data-home", default=None, help="a folder of IDX files")

    predict = commands.add_parser("predict", help="classify pictures of digits")
    predict.add_argument("model", help="a file saved by 'skdigits train'")
    predict.add_argument("images", nargs="+", help="PNG/JPEG files")

    export = commands.add_parser(
        "export", help="write a trained model for runtimes without TensorFlow"
    )
    export.add_argument("model", help="a file saved by 'skdigits train'")
    export.add_argument("output", help="the file (or SavedModel folder) to write")
    export.add_argument(
        "--format",
        default="onnx",
        choices=("onnx", "litert", "savedmodel"),
        help="default: onnx",
    )

    serve = commands.add_parser(
        "serve", help="a web page to draw digits on, and a JSON API (POST /predict)"
    )
    serve.add_argument(
        "model",
        help="a file saved by 'skdigits train', or an ONNX file from "
        "'skdigits export' (served without TensorFlow)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    serve.add_argument(
        "--port", type=int, default=8000, help="default: 8000; 0 picks a free one"
    )
    return parser


def _estimator(args):
    from skdigits import KerasCNNClassifier, KerasMLPClassifier

    given = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "loss": args.loss,
    }
    params = {name: value for name, value in given.items() if value is not None}
    params.update(
        random_state=args.seed,
        checkpoint_path=str(Path(args.output).with_suffix(".keras")),
        # Epoch lines with times; on a terminal also a bar within each epoch.
        verbose=1,
    )
    name = {model.lower(): model for model in MODELS}.get(args.model.lower())
    if name is None:
        raise CLIError(
            f"unknown model {args.model!r}; choose one of {', '.join(MODELS)}"
        )
    kind, preset = MODELS[name]
    estimator = KerasCNNClassifier if kind == "cnn" else KerasMLPClassifier
    return estimator.from_preset(preset, **params)


def _train(args):
    import time

    import joblib

    from skdigits.datasets import load_mnist

    estimator = _estimator(args)
    X, y = load_mnist("train", return_X_y=True, data_home=args.data_home)
    X_test, y_test = load_mnist("test", return_X_y=True, data_home=args.data_home)
    if args.max_samples is not None:
        X, y = X[: args.max_samples], y[: args.max_samples]
    params = estimator.get_params()
    print(
        f"Training {args.model} on {len(X):,} MNIST images (batch "
        f"{params['batch_size']}, {params['optimizer']}, learning rate "
        f"{params['learning_rate']:g}, epochs {params['epochs']})",
        flush=True,
    )
    start = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - start
    accuracy = estimator.score(X_test, y_test)
    print(
        f"Test accuracy: {accuracy:.4f} on {len(X_test):,} images, after "
        f"{estimator.n_iter_} epochs in {seconds:.0f} s",
        flush=True,
    )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, output)
    print(f"Saved the fitted estimator to {output}")
    try:
        from skdigits.plotting import plot_history
    except ImportError:  # pragma: no cover - matplotlib is an extra
        return
    try:
        figure = plot_history(estimator)
    except ImportError:
        print("Install skdigits[plot] for the learning-curve plot.")
        return
    curve = output.with_name(output.stem + "-history.png")
    figure.savefig(curve, dpi=100)
    print(f"Saved the learning curves to {curve}")


def _load_model(path):
    if not os.path.isfile(path):
        raise CLIError(f"no model file at {path}")
    if path.lower().endswith(".onnx"):
        # onnxruntime only: no TensorFlow, no Keras in this process.
        from skdigits._onnx import OnnxClassifier

        return OnnxClassifier(path)
    import joblib

    try:
        model = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure
        raise CLIError(
            f"{path} is not a model saved by 'skdigits train' ({exc})"
        ) from None
    if not hasattr(model, "predict_proba"):
        raise CLIError(f"{path} holds a {type(model).__name__}, not a classifier")
    return model


def _evaluate(args):
    from sklearn.metrics import ConfusionMatrixDisplay, classification_report

    from skdigits.datasets import load_mnist

    model = _load_model(args.model)
    X, y = load_mnist("test", return_X_y=True, data_home=args.data_home)
    y_pred = model.predict(X)
    print(f"Test accuracy: {(y_pred == y).mean():.4f} on {len(y):,} images")
    print(classification_report(y, y_pred, digits=4))
    try:
        display = ConfusionMatrixDisplay.from_predictions(y, y_pred, colorbar=False)
    except ImportError:
        print("Install skdigits[plot] for the confusion-matrix plot.")
        return
    path = Path(args.model)
    figure_path = path.with_name(path.stem + "-confusion.png")
    display.figure_.savefig(figure_path, dpi=100)
    print(f"Saved the confusion matrix to {figure_path}")


def _predict(args):
    import numpy as np

    from skdigits.images import load_digit

    model = _load_model(args.model)
    rows = []
    for image in args.images:
        if not os.path.isfile(image):
            raise CLIError(f"no image file at {image}")
        rows.append(load_digit(image))
    proba = model.predict_proba(np.vstack(rows))
    for image, p in zip(args.images, proba, strict=True):
        best = int(np.argmax(p))
        print(f"{image}: {model.classes_[best]} (probability {p[best]:.3f})")


def _export(args):
    model = _load_model(args.model)
    if not hasattr(model, "export"):
        raise CLIError(f"{args.model} holds a model that skdigits cannot export")
    path = model.export(args.output, format=args.format)
    where = {
        "onnx": "in its metadata",
        "litert": f"in {path}.json",
        "savedmodel": f"in {path / 'skdigits.json'}",
    }[args.format]
    print(
        f"Exported {type(model).__name__} to {path} ({args.format}); the class "
        f"labels are {where}"
    )


def _serve(args):
    try:
        from skdigits._serve import serve
    except ImportError as exc:
        raise CLIError(f"install skdigits[serve] to serve a model ({exc})") from None
    model = _load_model(args.model)
    serve(
        model,
        host=args.host,
        port=args.port,
        announce=lambda line: print(line, flush=True),
    )


def main(argv=None):
    """Entry point of ``skdigits`` and ``python -m skdigits``."""
    args = _parser().parse_args(argv)
    command = {
        "train": _train,
        "evaluate": _evaluate,
        "predict": _predict,
        "export": _export,
        "serve": _serve,
    }
    try:
        command[args.command](args)
    except (CLIError, ValueError, OSError, ImportError) as exc:
        print(f"skdigits {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"skdigits {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
