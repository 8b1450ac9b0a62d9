"""
A first fit on load_digits
==========================

scikit-learn's 8x8 digits with the default parameters of both presets: the
learning curves, the test digits the CNN gets wrong, and where its mistakes
fall. It runs in seconds (``--quick`` changes nothing here; ``--show`` opens
the plots in a window when run as a script).
"""

# %%
# The data
# --------
# 1,797 images of 8x8 pixels, scaled to [0, 1]; a quarter is kept aside for
# testing, stratified by digit.
import sys

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.25, random_state=0, stratify=y
)

# %%
# Two estimators, default parameters
# ----------------------------------
# The defaults adapt to the size of the data: batches of 128, about 1,000
# gradient steps, and no hold-out under 10,000 rows (the rules watch the
# training accuracy and loss instead).
from skdigits import KerasCNNClassifier, KerasMLPClassifier

mlp = KerasMLPClassifier(random_state=0).fit(X_train, y_train)
cnn = KerasCNNClassifier(random_state=0).fit(X_train, y_train)
for model in (mlp, cnn):
    print(
        f"{type(model).__name__}: test accuracy {model.score(X_test, y_test):.4f} "
        f"after {model.n_iter_} epochs of batch {model.batch_size_} "
        f"(stopped: {model.stop_reason_})"
    )

# %%
# How training went
# -----------------
# Loss and accuracy per epoch of the MLP; dotted lines mark its learning-rate
# drops on a plateau, the green band the best epoch, whose weights the model
# ends with.
from skdigits.plotting import plot_digits, plot_history

fig = plot_history(mlp)

# %%
# The CNN follows a one-cycle schedule instead of drops: the rate rises over
# the first quarter of the steps, then decays to 0.
fig = plot_history(cnn)

# %%
# The CNN's mistakes
# ------------------
# The test digits it gets wrong, with the true label and its answer.
y_pred = cnn.predict(X_test)
wrong = y_pred != y_test
fig = plot_digits(X_test[wrong], y_test[wrong], y_pred[wrong], max_digits=20)

# %%
# ... and where they fall, in scikit-learn's confusion-matrix display.
from sklearn.metrics import ConfusionMatrixDisplay

ConfusionMatrixDisplay.from_predictions(y_test, y_pred, colorbar=False)
if "--show" in sys.argv:
    plt.show()
