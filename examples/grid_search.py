"""A Pipeline tuned with GridSearchCV; the best model pickled and reloaded.
========================================================================

python examples/grid_search.py [--quick] [--n-jobs 2]
"""

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdigits import KerasMLPClassifier
from skdigits.datasets import load_mnist


def main(argv=None):
    parser = argparse.ArgumentParser(description="A Pipeline tuned with GridSearchCV")
    parser.add_argument("--quick", action="store_true", help="2,000 images")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="show the plots")
    args = parser.parse_args(argv)
    n_train = 2_000 if args.quick else 10_000

    X, y = load_mnist("train", return_X_y=True, scale=False)  # uint8 pixels
    X_test, y_test = load_mnist("test", return_X_y=True, scale=False)
    X, y = X[:n_train], y[:n_train]

    pipe = make_pipeline(
        MinMaxScaler(),
        KerasMLPClassifier(epochs=3 if args.quick else 10, random_state=0),
    )
    grid = {
        "kerasmlpclassifier__hidden_layer_sizes": [(32,), (128,)],
        "kerasmlpclassifier__learning_rate": [1e-3, 3e-3],
    }
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=args.n_jobs)
    start = time.perf_counter()
    search.fit(X, y)
    print(
        f"Searched {len(search.cv_results_['params'])} candidates x 2 folds "
        f"in {time.perf_counter() - start:.0f} s (n_jobs={args.n_jobs})"
    )
    for params, score in zip(
        search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
    ):
        print(f"  {score:.4f}  {params}")
    print(f"Best: {search.best_params_}")

    # Mean cross-validated accuracy of each candidate, with its spread.
    results = search.cv_results_
    labels = [
        f"{p['kerasmlpclassifier__hidden_layer_sizes']}, "
        f"lr {p['kerasmlpclassifier__learning_rate']:g}"
        for p in results["params"]
    ]
    fig, ax = plt.subplots(figsize=(6, 3), constrained_layout=True)
    ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
    ax.set_xlim(min(results["mean_test_score"]) - 0.05, 1)
    ax.set_xlabel("mean cross-validated accuracy")
    ax.set_title("GridSearchCV over KerasMLPClassifier")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "best.pkl"
        path.write_bytes(pickle.dumps(search.best_estimator_))
        best = pickle.loads(path.read_bytes())
    same = (best.predict(X_test) == search.best_estimator_.predict(X_test)).all()
    print(
        f"Reloaded from a pickle: test accuracy {best.score(X_test, y_test):.4f}, "
        f"same predictions: {same}"
    )
    if args.show:
        plt.show()


if __name__ == "__main__":
    main()
