"""A user's first session with default parameters; it must print nothing.

Run by tests/test_quiet.py as ``python -W error quiet_session.py``: any
warning is an error, and the test checks that the output is empty.
"""

import pickle

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsOneClassifier

from skdigits import KerasCNNClassifier, KerasMLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.25, random_state=0, stratify=y
)
for Estimator in (KerasMLPClassifier, KerasCNNClassifier):
    est = Estimator(random_state=0).fit(X_train, y_train)
    est.predict(X_test[:1])
    est.predict_proba(X_test)
    est.score(X_test, y_test)
    pickle.loads(pickle.dumps(est)).predict(X_test[:1])
# 45 small fits of one architecture in one process.
OneVsOneClassifier(KerasMLPClassifier(random_state=0)).fit(X_train, y_train)
