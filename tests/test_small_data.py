"""How the defaults adapt to the data, and fits that reuse compiled work."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from skdigits import KerasCNNClassifier, KerasMLPClassifier, _engine, _plan
from skdigits.callbacks import EarlyExit


@pytest.mark.parametrize(
    ("n", "batch", "epochs"),
    [
        (54_000, 128, 20),  # all of MNIST, 10% held out: the published 20
        (1_347, 128, 91),  # load_digits' training split
        (1_000, 64, 63),
        (100, 16, 143),
        (10, 10, 200),  # fewer rows than a batch: batch gradient descent
    ],
)
def test_auto_plan(n, batch, epochs):
    plan = _plan.make_plan(batch_size="auto", epochs="auto", n_samples=n)
    assert (plan.batch_size, plan.epochs) == (batch, epochs)
    assert plan.gd_variant == ("batch" if n <= batch else "mini-batch")


@pytest.mark.parametrize(
    ("n", "epochs"), [(54_000, 8), (60_000, 8), (1_347, 91), (1_000, 63)]
)
def test_auto_epochs_with_a_schedule(n, epochs):
    # A schedule that decays to the end needs fewer epochs on large data;
    # small data gets the same 1,000 steps as with a constant rate.
    plan = _plan.make_plan(
        batch_size="auto",
        epochs="auto",
        n_samples=n,
        lr_schedule="one-cycle",
        peak_lr=0.01,
    )
    assert plan.epochs == epochs


@pytest.mark.parametrize(
    ("n", "fraction"), [(60_000, 0.1), (10_000, 0.1), (9_999, 0.0), (1_347, 0.0)]
)
def test_auto_validation_fraction(n, fraction):
    assert _plan.validation_fraction("auto", n) == fraction
    assert _plan.validation_fraction(0.2, n) == 0.2
    # A callback that monitors a validation metric gets a hold-out.
    assert _plan.validation_fraction("auto", n, wanted=True) == 0.1


def test_xla_only_for_dense_fits_that_pay_it_back():
    def plan(epochs, n, dense):
        return _plan.make_plan(
            batch_size=128, epochs=epochs, n_samples=n, dense_stack=dense
        )

    assert not plan(5, 1_347, True).jit_compile
    assert plan(200, 1_347, True).jit_compile
    assert not plan(200, 60_000, False).jit_compile
    # A dense stack runs whole epochs per call, others 2,048 rows a call.
    assert plan(2, 60_000, True).steps_per_call == 469
    assert plan(2, 60_000, False).steps_per_call == 16


@pytest.mark.parametrize(
    "stopper",
    [
        keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10),
        EarlyExit(monitor="accuracy", target=0.01),
    ],
    ids=["keras-early-stopping", "early-exit"],
)
def test_stop_by_user_callback(stopper, digits):
    X, _, y, _ = digits
    est = KerasMLPClassifier(epochs=5, callbacks=[stopper], random_state=0)
    est.fit(X[:300], y[:300])
    assert est.stop_reason_ == "callback"
    assert est.n_iter_ < 5
    assert len(est.history_["loss"]) == est.n_iter_


@pytest.mark.parametrize(
    ("Estimator", "params"),
    [
        (KerasMLPClassifier, {"epochs": 3}),
        (KerasMLPClassifier, {"epochs": 3, "validation_fraction": 0.2}),
        (KerasCNNClassifier, {"epochs": 2, "filters": (4, 8)}),
    ],
    ids=["mlp", "mlp-validation", "cnn"],
)
def test_reused_trainer_gives_identical_results(Estimator, params, digits):
    # A fit on a trainer left by another fit (other data, other seed) equals
    # a fit on a new trainer: nothing of the earlier fit carries over.
    X, X_test, y, _ = digits
    _engine.clear()
    fresh = Estimator(random_state=1, **params).fit(X[:400], y[:400])
    expected = fresh.predict_proba(X_test)
    Estimator(random_state=2, **params).fit(X[400:800], y[400:800])
    again = Estimator(random_state=1, **params).fit(X[:400], y[:400])
    np.testing.assert_array_equal(again.predict_proba(X_test), expected)
    assert again.history_ == fresh.history_
    # Each fitted estimator keeps its own network.
    assert again.model_ is not fresh.model_


def test_partial_fit_carries_on_the_optimizer(digits):
    X, _, y, _ = digits
    est = KerasMLPClassifier(epochs=2, batch_size=100, random_state=0).fit(X, y)
    optimizer = est.model_.optimizer
    assert type(optimizer).__name__ == "Adam"
    assert int(optimizer.iterations.numpy()) == 2 * 14
    velocities = [v.numpy().copy() for v in optimizer.variables if "velocity" in v.name]
    assert velocities
    est.partial_fit(X[:300], y[:300])
    optimizer = est.model_.optimizer
    assert int(optimizer.iterations.numpy()) == 2 * 14 + 3
    # Adam's moments carried on: Adam's update of the variance after three
    # more steps keeps at least beta_2 ** 3 of it, where a fresh optimizer
    # would hold only those three steps' squared gradients.
    after = [v.numpy() for v in optimizer.variables if "velocity" in v.name]
    for new, old in zip(after, velocities, strict=True):
        assert np.all(new >= 0.999**3 * old - 1e-12)


@pytest.mark.slow  # 45 fits: about a minute
def test_quiet_session():
    # A first session with default parameters: fit, predict, score, pickle,
    # 45 small fits; no output and no warning, with warnings as errors.
    script = Path(__file__).parent / "scripts" / "quiet_session.py"
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "" and done.stderr == ""
