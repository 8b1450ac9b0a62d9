"""Parameters as SciKeras routes them, for every skdigits estimator: the
constructor's and the routed or bare ones (``model__units=64``) alike reach
``get_params``, ``set_params`` and ``clone``."""

import copy
import inspect

from sklearn.base import clone

from skdigits import _routing
from skdigits._backend import keras


class RoutedParameters:
    """``get_params``/``set_params``/``clone`` with routed parameters (mixed
    in before ``BaseEstimator``)."""

    @classmethod
    def _signature(cls, kind=None):
        return inspect.signature((kind or cls).__init__).parameters.values()

    @classmethod
    def _named_parameters(cls):
        """The parameters of the constructor's signature, in order."""
        return [
            p.name
            for p in cls._signature()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]

    @classmethod
    def _estimator_parameters(cls):
        """The estimator's own parameter names, never the model function's:
        the signature's, and for a user's subclass in SciKeras's style
        (``super().__init__(**kwargs)``) those of the skdigits kind it
        extends, which its ``__init__`` sets."""
        names = set(cls._named_parameters())
        if not cls.__module__.startswith("skdigits."):
            for base in cls.__mro__[1:]:
                if base.__module__.startswith("skdigits.") and "__init__" in vars(base):
                    names |= {p.name for p in cls._signature(base)}
                    break
        return names

    def _unset_routed(self):
        """Routed parameters a subclass's signature names with a default but
        its ``__init__`` never sets (SciKeras reads ``__dict__``, so the
        default stands): ``optimizer__learning_rate=0.001``."""
        return {
            p.name: p.default
            for p in self._signature()
            if _routing.is_routed(p.name)
            and p.name not in vars(self)
            and p.default is not p.empty
        }

    def _beyond_signature(self):
        named = set(self._named_parameters())
        return {
            k: v
            for k, v in vars(self).items()
            if k not in named and not k.startswith("_") and not k.endswith("_")
        }

    def _extra(self):
        """The routed and bare parameters beyond the estimator's own, and
        the routed ones a subclass's signature names."""
        own = self._estimator_parameters()
        extra = {
            k: v
            for k, v in vars(self).items()
            if (k not in own or _routing.is_routed(k))
            and not k.startswith("_")
            and not k.endswith("_")
        }
        return {**self._unset_routed(), **extra}

    def get_params(self, deep=True):
        """The estimator's parameters, routed and bare ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of parameters that are estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        unset = self._unset_routed()
        params = {
            name: unset[name] if name in unset else getattr(self, name)
            for name in self._named_parameters()
        }
        params.update(self._beyond_signature())
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    for key, sub in value.get_params().items():
                        params[f"{name}__{key}"] = sub
        return params

    def set_params(self, **params):
        """Set parameters, routed ones (``model__units=64``) included.

        Parameters
        ----------
        **params : dict
            Parameter names and their new values.

        Returns
        -------
        self : object
            The estimator.
        """
        extra = set(self._beyond_signature())
        plain = {}
        for key, value in params.items():
            if _routing.is_routed(key) or key in extra:
                setattr(self, key, value)
            else:
                plain[key] = value
        if plain:
            super().set_params(**plain)
        return self

    def __sklearn_clone__(self):
        # A network given as a parameter is read, never trained (each fit
        # clones it): clones share it, where scikit-learn would deep-copy it
        # (through Keras's saving, with its warnings) for every fit of a
        # search.
        params = self.get_params(deep=False)
        shared = {k: v for k, v in params.items() if isinstance(v, keras.Model)}
        new = type(self)(
            **{k: clone(v, safe=False) for k, v in params.items() if k not in shared},
            **shared,
        )
        if hasattr(self, "_metadata_request"):
            new._metadata_request = copy.deepcopy(self._metadata_request)
        return new
