"""Pickling: a fitted network travels as Keras's own ``.keras`` bytes, and
the fast predictor is rebuilt on load."""

import numpy as np
from sklearn.utils.validation import check_array

from skdigits import _predict, _saving
from skdigits._backend import keras


class KerasPickling:
    """``__getstate__``/``__setstate__`` for estimators holding Keras models
    (mixed in before ``BaseEstimator``)."""

    def __getstate__(self):
        # The network travels as Keras's own .keras bytes, not as a live
        # object graph; the predictor is rebuilt from it on load. (The
        # parent returns the live __dict__: copy before changing.)
        state = dict(super().__getstate__())
        state.pop("_predictor", None)
        if "model_" in state:
            state["model_"], state["_model_modules"] = _saving.model_to_bytes(
                state["model_"]
            )
        # A network given as a parameter travels the same way (Keras's own
        # pickling of it warns under NumPy 2.4).
        given = {
            k: _saving.model_to_bytes(v)
            for k, v in state.items()
            if isinstance(v, keras.Model) and k != "model_"
        }
        if given:
            state = {k: v for k, v in state.items() if k not in given}
            state["_given_models"] = given
        return state

    # Parameters added since an earlier release, with the value that
    # reproduces what that release's pickles did (set where one lacks them).
    _added_parameters: dict = {}

    def __setstate__(self, state):
        state = {**self._added_parameters, **state}
        for key, (data, modules) in state.pop("_given_models", {}).items():
            # Never trained: its optimizer holds no state.
            state[key] = _saving.model_from_bytes(data, modules, optimizer_state=False)
        if isinstance(state.get("model_"), bytes):
            model = _saving.model_from_bytes(
                state["model_"], state.get("_model_modules", ())
            )
            state = {**state, "model_": model}
        super().__setstate__(state)
        if "model_" in state:
            shape = self._reshape_to or self.input_shape_
            self._predictor = _predict.make_predictor(
                self._predicting_model(self.model_), shape, self._predict_chunk
            )
            # scikit-learn's first input check in a process has narwhals
            # look for dataframe plugins among the installed packages
            # (6-14 ms here); a loaded model pays it now, not in its first
            # prediction. (After fit, fit's own check has paid it.)
            check_array(np.zeros((1, *self.input_shape_), np.float32), allow_nd=True)
