"""Plots of training and of digits (needs matplotlib: ``skdigits[plot]``).

Confusion matrices come from scikit-learn's ``ConfusionMatrixDisplay``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_digits", "plot_history"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'skdigits[plot]'"
        ) from None
    return plt


def plot_history(estimator, *, axes=None):
    """Loss and accuracy per epoch, train and validation, with LR drops.

    Dotted lines mark the plateau rule's learning-rate drops; with a
    schedule (``lr_schedule``) the rate's course is drawn beside the loss
    instead. A green band marks the best epoch when the model ends with its
    weights (``restore_best_weights``).

    Parameters
    ----------
    estimator : fitted KerasMLPClassifier or KerasCNNClassifier
        Its ``history_`` is drawn.
    axes : pair of matplotlib Axes, default=None
        Where to draw loss and accuracy; None makes a new figure.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from skdigits.plotting import plot_history
    >>> fig = plot_history(fitted_estimator)  # doctest: +SKIP
    >>> fig.savefig("history.png")  # doctest: +SKIP
    """
    check_is_fitted(estimator, "history_")
    plt = _pyplot()
    history = estimator.history_
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    else:
        fig = axes[0].figure
    epochs = np.arange(1, len(history["loss"]) + 1)
    scheduled = getattr(estimator, "lr_schedule", None) is not None
    # The band marks the epoch whose weights the model ends with.
    kept_best = getattr(estimator, "restore_best_weights", True)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(epochs, history[metric], "o-", label=f"train {metric}")
        if f"val_{metric}" in history:
            ax.plot(
                epochs, history[f"val_{metric}"], "s-", label=f"validation {metric}"
            )
        rates = history.get("learning_rate", [])
        if scheduled and metric == "loss" and len(rates):
            # A schedule moves the rate every step: its course, not drops.
            twin = ax.twinx()
            twin.plot(epochs, rates, "--", color="grey", label="learning rate")
            twin.set_ylabel("learning rate (end of epoch)", color="grey")
            twin.tick_params(axis="y", colors="grey")
            twin.set_ylim(bottom=0)
        for epoch in range(1, 0 if scheduled else len(rates)):
            if rates[epoch] < rates[epoch - 1]:
                ax.axvline(epoch + 0.5, color="grey", linestyle=":", linewidth=1)
                ax.text(
                    epoch + 0.5,
                    0.98,
                    f" lr {rates[epoch]:.0e}",
                    rotation=90,
                    va="top",
                    fontsize=8,
                    color="grey",
                    transform=ax.get_xaxis_transform(),
                )
        best = getattr(estimator, "best_epoch_", None)
        if metric == "accuracy" and best is not None and kept_best:
            ax.axvline(best, color="green", alpha=0.3, linewidth=4, label="best epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{type(estimator).__name__}: stopped by {estimator.stop_reason_}")
    return fig


def plot_digits(X, y_true, y_pred=None, *, n_cols=10, max_digits=50, image_shape=None):
    """A grid of digit images with their labels; misclassified ones in red.

    Parameters
    ----------
    X : array-like of shape (n, h*w) or (n, h, w)
        The images (rows of pixels are reshaped to squares).
    y_true : array-like of shape (n,)
        Their labels.
    y_pred : array-like of shape (n,), default=None
        Predicted labels; where they differ the digit is framed in red.
    n_cols : int, default=10
        Digits per row.
    max_digits : int, default=50
        The first this many are drawn.
    image_shape : tuple (h, w), default=None
        Shape of each image; None infers a square.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from skdigits.datasets import load_mnist
    >>> from skdigits.plotting import plot_digits
    >>> X, y = load_mnist("test", return_X_y=True)
    >>> fig = plot_digits(X[:20], y[:20])  # doctest: +SKIP
    """
    from skdigits._models import infer_image_shape

    plt = _pyplot()
    X = np.asarray(X)[:max_digits]
    y_true = np.asarray(y_true)[:max_digits]
    if y_pred is not None:
        y_pred = np.asarray(y_pred)[:max_digits]
        if len(y_pred) != len(y_true):
            raise ValueError("y_pred and y_true have different lengths")
    if len(X) != len(y_true):
        raise ValueError(f"X has {len(X)} images but y_true {len(y_true)} labels")
    if X.ndim == 2:
        X = X.reshape(len(X), *(image_shape or infer_image_shape(X.shape[1])))
    # A handful of digits gets as many columns, not a wide, mostly empty row.
    n_cols = max(1, min(n_cols, len(X)))
    n_rows = max(1, int(np.ceil(len(X) / n_cols)))
    size = max(1.2, 6 / n_cols)  # each digit legible, however few
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(size * n_cols, (size + 0.2) * n_rows),
        squeeze=False,
        constrained_layout=True,
    )
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(X):
            ax.axis("off")
            continue
        ax.imshow(X[i], cmap="gray_r")
        title = f"{y_true[i]}"
        wrong = y_pred is not None and y_pred[i] != y_true[i]
        if y_pred is not None:
            title = f"{y_true[i]} -> {y_pred[i]}" if wrong else title
        ax.set_title(title, fontsize=9, color="red" if wrong else "black")
        if wrong:
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(2.5)
    return fig
