"""The private upstream names in skdigits._compat still exist and still work."""

import warnings
from numbers import Real

import numpy as np
import pytest

from skdigits import KerasCNNClassifier, KerasMLPClassifier, _compat


def test_gradient_registry_is_found():
    registry = _compat._gradient_registry()
    assert registry is not None and hasattr(registry, "pop")


@pytest.mark.parametrize("Estimator", [KerasMLPClassifier, KerasCNNClassifier])
def test_fits_leave_the_gradient_registry_as_they_found_it(Estimator, digits):
    # Each fit that traces registers CustomGradient entries; left there they
    # keep every traced graph alive (keras-team/keras#17458).
    X, _, y, _ = digits
    registry = _compat._gradient_registry()
    Estimator(epochs=1, random_state=0).fit(X[:200], y[:200])  # warm up
    before = set(registry)
    # A new architecture: new traces, new entries, which must go again.
    Estimator(epochs=1, random_state=0, **_other_architecture(Estimator)).fit(
        X[:200], y[:200]
    )
    assert set(registry) == before


def _other_architecture(Estimator):
    if Estimator is KerasMLPClassifier:
        return {"hidden_layer_sizes": (7,)}
    return {"filters": (3, 5)}


def test_missing_registry_warns_once(monkeypatch):
    monkeypatch.setattr(_compat, "_gradient_registry", lambda: None)
    monkeypatch.setattr(_compat, "_warned", False)
    with pytest.warns(RuntimeWarning, match="gradient registry"):
        with _compat.released_custom_gradients():
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _compat.released_custom_gradients():
            pass


def test_sklearn_helpers_behave():
    weights = _compat._check_sample_weight(None, np.zeros((3, 2)))
    np.testing.assert_array_equal(weights, np.ones(3))
    with pytest.raises(ValueError, match="(?i)negative"):
        _compat._check_sample_weight(
            np.array([1.0, -1.0, 1.0]), np.zeros((3, 2)), ensure_non_negative=True
        )
    assert _compat.Interval(Real, 0, 1, closed="neither").is_satisfied_by(0.5)
    assert _compat.StrOptions({"auto"}).is_satisfied_by("auto")


def test_oldest_versions_ci_tests_are_the_floors():
    # CI runs the default suite on .ci/oldest.txt: it must pin exactly the
    # lowest versions pyproject.toml allows, or the floors are untested.
    import re
    import tomllib
    from pathlib import Path

    from packaging.version import Version

    root = Path(__file__).parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["cpu"]
    floors = dict(re.fullmatch(r"([\w-]+)>=([\w.]+)", r).groups() for r in requirements)
    pins = {}
    for line in (root / ".ci" / "oldest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    assert pins.keys() == floors.keys()
    for name, floor in floors.items():
        assert Version(pins[name]) == Version(floor), name


def test_oldest_export_ci_tests_the_export_floors():
    # CI runs the export and ONNX-serving tests on .ci/oldest-export.txt: it
    # must pin the lowest versions the export and serve-onnx extras allow.
    import re
    import tomllib
    from pathlib import Path

    from packaging.version import Version

    root = Path(__file__).parents[1]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    floors = {}
    for requirement in extras["export"] + extras["serve-onnx"]:
        match = re.fullmatch(r"([\w-]+)(>=|==)([\w.]+)", requirement)
        if match:
            floors[match.group(1)] = match.group(3)
    pins = {}
    for line in (root / ".ci" / "oldest-export.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    for name, floor in floors.items():
        assert Version(pins[name]) == Version(floor), name


def _compiled_model():
    from skdigits._backend import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(
        optimizer="adam",
        loss="mse",
        metrics=["mae", keras.metrics.AUC(name="auc"), "accuracy"],
    )
    return model


def test_symbolic_build_creates_the_compiled_variables():
    model = _compiled_model()
    assert not model.optimizer.built
    _compat.symbolic_build(model, (np.zeros((4, 3)), np.zeros((4, 2))))
    assert model.optimizer.built and model.optimizer.variables
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
    assert model.metrics[1].variables  # the compiled metrics, built


def test_resumed_epoch_is_what_backup_and_restore_sets(tmp_path):
    from skdigits._backend import keras

    model = _compiled_model()
    X, Y = np.zeros((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model.fit(X, Y, epochs=2, verbose=0)  # a fit starts with no resumed epoch
    assert _compat.resumed_epoch(model) is None
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    model.fit(X, Y, epochs=2, callbacks=[backup], verbose=0)
    backup.set_model(model)
    backup.on_train_begin()  # restores: the epoch to resume from
    assert _compat.resumed_epoch(model) == 2
    _compat.set_resumed_epoch(model, None)
    assert _compat.resumed_epoch(model) is None


@pytest.mark.parametrize(
    "monitor, mode",
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("mae", "min"),
        ("val_auc", "max"),
        ("accuracy", "max"),
        ("val_accuracy", "max"),
    ],
)
def test_monitor_mode_as_keras_resolves_auto(monitor, mode):
    model = _compiled_model()
    _compat.symbolic_build(model, (np.zeros((4, 3)), np.zeros((4, 2))))
    assert _compat.monitor_mode(model, monitor) == mode


def test_monitor_mode_unknown_is_keras_error():
    model = _compiled_model()
    _compat.symbolic_build(model, (np.zeros((4, 3)), np.zeros((4, 2))))
    with pytest.raises(ValueError, match="automatically determine"):
        _compat.monitor_mode(model, "val_nothing")


def test_compile_arguments_are_the_objects_given():
    from skdigits._backend import keras

    metric = keras.metrics.AUC(name="auc")
    loss = keras.losses.MeanSquaredError()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=loss, metrics=["mae", metric])
    arguments = _compat.compile_arguments(model)
    # The optimizer as given or as resolved (Keras 3.3 keeps the name).
    assert arguments["optimizer"] in ("sgd", model.optimizer)
    assert arguments["loss"] is loss
    assert arguments["metrics"] == ["mae", metric]
    assert {"weighted_metrics", "run_eagerly", "steps_per_execution"} <= set(arguments)
