"""Presets: estimators whose network one of skdigits's builders makes."""

from skdigits import _routing, _tuning
from skdigits._compat import StrOptions
from skdigits._quiet import upstream_noise


class Preset:
    """What a preset adds to a kind (mixed in before it).

    A preset names the builder (``_builder``) and what its parameters give
    it (``_builder_arguments``); everything else is the kind's. Its
    constructor lists its own parameters instead of ``model``.
    """

    # The named sets of parameters that ``from_preset`` knows.
    _presets: dict = {}
    _builder = None
    # Measured defaults (see _tuning): validation in large chunks, at least
    # AUTO_EPOCHS_MIN epochs for "auto", and None for batch GD.
    _validation_batch_size = _tuning.PREDICT_CHUNK
    _min_auto_epochs = None
    _none_batch_size = None

    @classmethod
    def from_preset(cls, name, **params):
        """An estimator with a named preset's parameters; ``params`` override.

        The MLP presets are ``MLP_PRESETS`` ("default", "4LS", "3LS",
        "2LR"), the CNN presets ``CNN_PRESETS`` ("default", "zoo",
        "bn-shift"); "default" gives the estimator's own defaults.

        Examples
        --------
        >>> from skdigits import KerasCNNClassifier, KerasMLPClassifier
        >>> KerasMLPClassifier.from_preset("3LS").hidden_layer_sizes
        (60, 60)
        >>> KerasCNNClassifier.from_preset("bn-shift", epochs=5).batch_norm
        True
        """
        if name not in cls._presets:
            raise ValueError(
                f"unknown {cls.__name__} preset {name!r}; "
                f"use one of {sorted(cls._presets)}"
            )
        return cls(**{**cls._presets[name], **params})

    def _builder_arguments(self, meta):  # pragma: no cover - presets define it
        raise NotImplementedError

    def _build(self, meta, compile_kwargs, seed):
        extra = self._extra()
        unknown = sorted(
            k
            for k in extra
            if not _routing.is_routed(k) and k not in _routing.BARE_FIT_SETTINGS
        )
        unknown += sorted(f"model__{k}" for k in _routing.routed(extra, "model"))
        if unknown:
            raise ValueError(
                f"{unknown[0]} is not a parameter of {type(self).__name__}"
            )
        with upstream_noise():
            return self._builder(**self._builder_arguments(meta), seed=seed)

    def _architecture(self, meta):
        return repr(sorted(self._builder_arguments(meta).items()))


def preset_constraints(kind, losses):
    """A preset's constraints: the kind's, less ``model`` and ``metrics``,
    with optimizers by name or class and the ``losses`` named."""
    return {
        **{
            k: v
            for k, v in kind._parameter_constraints.items()
            if k not in ("model", "metrics")
        },
        "optimizer": [str, type],
        "loss": [StrOptions(set(losses))],
    }
