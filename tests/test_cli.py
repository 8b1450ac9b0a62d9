"""The skdigits command, image preprocessing and plots."""

import subprocess
import sys

import joblib
import numpy as np
import pytest

from skdigits import KerasMLPClassifier
from skdigits.datasets import load_mnist

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")


def skdigits(*args, cwd):
    """Run ``python -m skdigits``; return (exit status, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "skdigits", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2LR MLP trained by the command on 6,000 images for 3 epochs."""
    folder = tmp_path_factory.mktemp("cli")
    status, out, err = skdigits(
        "train",
        "--model",
        "2LR",
        "--epochs",
        "3",
        "--max-samples",
        "6000",
        "--learning-rate",
        "0.005",
        "--output",
        "run/model.joblib",
        cwd=folder,
    )
    assert status == 0, err
    return folder, out


def test_train_prints_epochs_and_saves(trained):
    folder, out = trained
    lines = out.splitlines()
    assert lines[0].startswith("Training 2LR on 6,000 MNIST images")
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    assert len(epoch_lines) == 3
    assert "new best, saving to run/model.keras" in epoch_lines[0]
    assert any(line.startswith("Stopped: ") for line in lines)
    accuracy = float(
        next(line for line in lines if line.startswith("Test accuracy")).split()[2]
    )
    assert accuracy > 0.85
    model = joblib.load(folder / "run" / "model.joblib")
    assert isinstance(model, KerasMLPClassifier)
    assert (folder / "run" / "model-history.png").stat().st_size > 10_000
    assert (folder / "run" / "model.keras").exists()


def test_evaluate(trained):
    folder, _ = trained
    status, out, _ = skdigits("evaluate", "run/model.joblib", cwd=folder)
    assert status == 0
    assert out.startswith("Test accuracy: 0.")
    assert "precision" in out and "recall" in out
    assert (folder / "run" / "model-confusion.png").stat().st_size > 10_000


def _render(digit, path, *, invert, size):
    """An MNIST digit drawn large, as a photo or scan of it would be."""
    picture = PIL.fromarray((digit.reshape(28, 28) * 255).astype(np.uint8))
    picture = picture.resize(size, PIL.BILINEAR)
    if invert:  # dark ink on white paper
        picture = PIL.eval(picture, lambda v: 255 - v)
    picture.convert("RGB").save(path)


def test_predict_rendered_digits(trained):
    folder, _ = trained
    X, y = load_mnist("test", return_X_y=True)
    model = joblib.load(folder / "run" / "model.joblib")
    # Digits the model gets right as MNIST rows, drawn both ways round.
    right = np.flatnonzero(model.predict(X[:50]) == y[:50])[:4]
    paths = []
    for k, i in enumerate(right):
        path = folder / f"digit{k}.{'png' if k % 2 else 'jpg'}"
        _render(X[i], path, invert=bool(k % 2), size=(140 + 20 * k, 170))
        paths.append(path.name)
    status, out, err = skdigits("predict", "run/model.joblib", *paths, cwd=folder)
    assert status == 0, err
    predicted = [int(line.split(": ")[1].split()[0]) for line in out.splitlines()]
    assert predicted == y[right].tolist()
    assert "probability" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "missing.joblib"], "no model file at missing.joblib"),
        (["predict", "run/model.joblib", "nothing.png"], "no image file"),
        (["predict", "run/model.joblib", "notes.txt"], "not an image"),
        (["predict", "notes.txt", "notes.txt"], "not a model"),
        (["train", "--model", "5LX"], "unknown model"),
        (["train", "--epochs", "0", "--max-samples", "100"], "epochs"),
    ],
)
def test_errors_are_one_line(trained, args, message):
    folder, _ = trained
    (folder / "notes.txt").write_text("not a picture")
    status, out, err = skdigits(*args, cwd=folder)
    assert status == 1
    assert "Traceback" not in err
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("model", "filters", "batch_norm", "shift"),
    [
        ("cnn", (8, 32, 32), False, "auto"),
        ("cnn-v0.2", (16, 32, 32), False, 0.05),
        ("cnn-v0.1", (16, 32, 32), True, 0.1),
        ("cnn-zoo", (16, 32, 32), False, 0.0),
        ("CNN-BN-Shift", (32, 64, 64), True, 0.1),
    ],
)
def test_cnn_models(model, filters, batch_norm, shift):
    from skdigits._cli import _estimator, _parser

    est = _estimator(_parser().parse_args(["train", "--model", model]))
    assert (tuple(est.filters), est.batch_norm, est.shift) == (
        filters,
        batch_norm,
        shift,
    )


def test_models_are_the_presets():
    from skdigits import CNN_PRESETS, MLP_PRESETS, KerasMLPClassifier
    from skdigits._cli import MODELS, _estimator, _parser

    assert len(MODELS) == len(CNN_PRESETS) + len(MLP_PRESETS)
    est = _estimator(_parser().parse_args(["train", "--model", "mlp"]))
    assert est.hidden_layer_sizes == KerasMLPClassifier().hidden_layer_sizes
    est = _estimator(_parser().parse_args(["train", "--model", "3ls"]))
    assert est.hidden_layer_sizes == MLP_PRESETS["3LS"]["hidden_layer_sizes"]


def test_preprocess_matches_mnist():
    from skdigits.images import preprocess_digit

    X, _ = load_mnist("test", return_X_y=True)
    for digit in X[:10]:
        big = np.kron(digit.reshape(28, 28), np.ones((4, 3)))  # stretched
        row = preprocess_digit(255 - 255 * big)  # dark on light, 0-255
        assert row.shape == (784,) and row.dtype == np.float32
        assert row.max() == 1
        centre = np.array(np.nonzero(row.reshape(28, 28) > 0.5)).mean(axis=1)
        assert np.all(np.abs(centre - 13.5) < 3)


def test_preprocess_rejects_blank_and_bad_shapes():
    from skdigits.images import preprocess_digit

    with pytest.raises(ValueError, match="blank"):
        preprocess_digit(np.full((30, 30), 200))
    with pytest.raises(ValueError, match="2-D"):
        preprocess_digit(np.zeros((3, 3, 3)))


def test_plots(fitted_mlp, digits, tmp_path):
    from skdigits.plotting import plot_digits, plot_history

    _, X_test, _, y_test = digits
    path = tmp_path / "history.png"
    plot_history(fitted_mlp).savefig(path)
    assert path.stat().st_size > 10_000
    y_pred = fitted_mlp.predict(X_test[:30])
    fig = plot_digits(X_test[:30], y_test[:30], y_pred)
    fig.savefig(tmp_path / "digits.png")
    assert (tmp_path / "digits.png").stat().st_size > 5_000
    wrong = int((y_pred != y_test[:30]).sum())
    red = [ax for ax in fig.axes if ax.title.get_color() == "red"]
    assert len(red) == wrong
    with pytest.raises(ValueError, match="labels"):
        plot_digits(X_test[:5], y_test[:4])


@pytest.mark.parametrize("schedule", [None, "one-cycle"])
def test_history_plot_marks_drops_or_draws_the_schedule(schedule):
    from skdigits import KerasCNNClassifier
    from skdigits.plotting import plot_history

    # A fitted history as the plateau rule or a schedule leaves it: two
    # drops, or a rate that moves every epoch.
    est = KerasCNNClassifier(
        lr_schedule=schedule, restore_best_weights=schedule is None
    )
    rates = (
        [3e-3, 3e-3, 9e-4, 9e-4, 2.7e-4]
        if schedule is None
        else [1e-3, 5e-3, 4e-3, 2e-3, 0.0]
    )
    est.history_ = {
        "loss": [1.0, 0.5, 0.4, 0.3, 0.3],
        "learning_rate": rates,
        "accuracy": [0.5, 0.8, 0.9, 0.92, 0.91],
    }
    est.best_epoch_, est.stop_reason_ = 4, "max_epochs"
    fig = plot_history(est)
    loss_ax, accuracy_ax = fig.axes[:2]
    drops = [line for line in loss_ax.lines if line.get_linestyle() == ":"]
    bands = [line for line in accuracy_ax.lines if line.get_label() == "best epoch"]
    if schedule is None:
        assert len(drops) == 2 and len(bands) == 1 and len(fig.axes) == 2
    else:  # the rate on a twin axis; no drops; the last epoch's weights kept
        assert not drops and not bands and len(fig.axes) == 3
        assert list(fig.axes[2].lines[0].get_ydata()) == rates
