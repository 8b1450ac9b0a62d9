"""Building and compiling the network of a fit: the model given (cloned,
with its weights) or what its function returns, and what it compiles with
(its own compile arguments, or the parameters'). The kind's hooks
(``_make_loss``, ``_added_metrics``) say what the parameters mean."""

import numpy as np

from skdigits import _compile, _engine, _routing
from skdigits._backend import keras
from skdigits._quiet import upstream_noise
from skdigits._seeding import seeded


class NetworkBuilding:
    """The network steps of a fit (mixed into ``KerasEstimator``)."""

    def _input_samples(self, X, *, reset):
        """``X`` in the layout the estimator takes, and what that says for
        ``meta`` (a hook: the CNN preset turns images into rows)."""
        return X, {}

    def _architecture(self, meta):
        """What the parameters say of the network; a warm start must not
        change it."""
        model = self.model
        # Identities that survive pickling (a warm start after loading): a
        # model's class and config, a function's qualified name.
        if isinstance(model, keras.Model):
            kind = type(model)
            ident = (kind.__module__, kind.__qualname__, model.to_json())
        elif hasattr(model, "__qualname__"):
            ident = (getattr(model, "__module__", None), model.__qualname__)
        else:
            ident = model
        extra = {
            k: v
            for k, v in self._extra().items()
            if (not _routing.is_routed(k) or k.startswith("model__"))
            and k not in _routing.BARE_FIT_SETTINGS
        }
        return repr((ident, sorted(extra.items()), meta["X_shape_"][1:]))

    def _build(self, meta, compile_kwargs, seed):
        """A new network for this fit, seeded: a clone of the ``model``
        parameter (with its weights), or what its function returns."""
        factory = self.model
        if factory is None and hasattr(self, "_keras_build_fn"):
            factory = self._keras_build_fn  # SciKeras's hook of a subclass
        if factory is None:
            raise ValueError(
                f"{type(self).__name__} needs a model: a keras.Model, or a "
                "function that returns one (model=...)"
            )
        extra = self._extra()
        if isinstance(factory, keras.Model):
            return self._cloned(factory, extra, seed)
        if not callable(factory):
            raise TypeError(
                f"model must be a keras.Model or a function, got {factory!r}"
            )
        arguments = _routing.model_arguments(
            factory,
            extra,
            meta=meta,
            compile_kwargs=compile_kwargs,
            params=lambda: self.get_params(deep=False),
        )
        with seeded(seed), upstream_noise():
            model = factory(**arguments)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"the model function returned {type(model).__name__}, not a keras.Model"
            )
        return model

    @staticmethod
    def _cloned(given, extra, seed):
        """A clone of the model ``given`` built, with its weights."""
        routed = set(_routing.bare(extra)) - set(_routing.BARE_FIT_SETTINGS)
        routed |= {f"model__{k}" for k in _routing.routed(extra, "model")}
        if routed:
            raise ValueError(
                f"{sorted(routed)[0]} cannot reach a model given built: pass a "
                "function that builds the model instead"
            )
        with seeded(seed), upstream_noise():
            try:
                model = _engine.clone(given)
            except (NotImplementedError, TypeError, ValueError) as exc:
                raise TypeError(
                    f"the {type(given).__name__} given as model cannot be "
                    f"cloned from its config ({exc}); give it get_config() "
                    "and from_config(), or pass a function that builds it"
                ) from exc
            if given.built:
                model.set_weights(given.get_weights())
        return model

    def _compile_source(self, model, warm):
        """The model whose compile arguments this fit uses (the user's own),
        or None where the parameters say what to compile."""
        if warm:
            if self._compiled_by_user and self.model_.compiled:
                return self.model_
            return None
        if model.compiled:
            return model
        given = getattr(self, "model", None)
        if isinstance(given, keras.Model) and given.compiled:
            return given
        return None

    def _compile_settings(self, model, extra, data, warm):
        """``compile``'s arguments for this fit (new objects), and whether
        they are the user's own: those the model arrived compiled with (a
        compiled ``model`` parameter, or a model function that compiles),
        else the parameters', with the metrics the kind adds."""
        source = self._compile_source(model, warm)
        routed_loss = _routing.routed(extra, "loss")
        if source is not None:
            args = _compile.compiled_args(source)
            if self.learning_rate is not None:
                args["optimizer"].learning_rate = self.learning_rate
            # Compiled without a loss: the parameter's, unless the model's
            # own train_step needs none (as in Keras's guide to it).
            own_step = type(model).train_step is not keras.Model.train_step
            if args.get("loss") is None and not own_step:
                args["loss"] = self._make_loss(routed_loss, model, data)
            return args, True
        args = {
            "optimizer": _compile.make_optimizer(
                self.optimizer, _routing.routed(extra, "optimizer"), self.learning_rate
            ),
            "loss": self._make_loss(routed_loss, model, data),
            "metrics": _compile.make_metrics(
                getattr(self, "metrics", None), _routing.routed(extra, "metrics")
            ),
        }
        added = self._added_metrics(args, model, data)
        if added:
            args["weighted_metrics"] = added
        return args, False

    def _compile_kwargs(self, extra):
        """What a model function that compiles itself gets as
        ``compile_kwargs``: the optimizer built from its parameters, the
        ``loss`` and ``metrics`` parameters (None for "crossentropy", which
        needs the model's output to be chosen)."""
        optimizer = _compile.make_optimizer(
            self.optimizer, _routing.routed(extra, "optimizer"), self.learning_rate
        )
        loss = None if self.loss == _compile.CROSSENTROPY else self.loss
        return {
            "optimizer": optimizer,
            "loss": loss,
            "metrics": getattr(self, "metrics", None),
        }

    def _network(self, meta, sample, extra, seed, warm):
        """The network this fit trains: the fitted one for a warm start (its
        architecture unchanged), else a new one, built."""
        if warm:
            if self._architecture(meta) != self._architecture_:
                raise ValueError(
                    "warm_start: the parameters of the network changed since the "
                    "last fit; fit with warm_start=False to build it anew"
                )
            return self.model_
        model = self._build(meta, lambda: self._compile_kwargs(extra), seed)
        if not model.built:
            with seeded(seed), upstream_noise():
                model(np.zeros((1, *sample), np.float32))
        return model
