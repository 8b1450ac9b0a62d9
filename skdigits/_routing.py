"""Routed parameters, as SciKeras names them: ``model__units=64`` and friends.

An estimator's extra keyword parameters are of two kinds:

- routed, ``<destination>__<name>``: ``model__`` goes to the model function,
  ``optimizer__``, ``loss__``, ``metrics__`` and ``callbacks__`` to the
  constructors of those objects (a class or a name given as the parameter
  of that name), ``fit__`` to the fit's own settings (Keras's ``fit``
  arguments ``batch_size``, ``epochs``, ``verbose``, ``validation_split``,
  ``validation_batch_size``, ``shuffle``, ``class_weight``, ``callbacks``,
  and ``compile``'s ``steps_per_execution`` and ``run_eagerly``),
  ``predict__`` to prediction (``batch_size``, ``verbose``);
- bare, ``<name>``: one of those Keras settings that is not a parameter of
  the estimator (``validation_split``, ``shuffle``, ...) goes to the fit,
  any other to the model function, which must take it.

In lists and dicts (``metrics=[...]``, ``callbacks={...}``) a key
``metrics__0__threshold`` or ``callbacks__stop__patience`` reaches one
entry, by index or by key; ``metrics__threshold`` reaches every entry that
is a class or a name.

Nothing here imports Keras; the callers resolve names to objects.
"""

import inspect

DESTINATIONS = ("model", "optimizer", "loss", "metrics", "callbacks", "fit", "predict")

# Keras fit() arguments a routed or bare parameter may set, and prediction's.
FIT_SETTINGS = (
    "batch_size",
    "epochs",
    "verbose",
    "validation_split",
    "validation_batch_size",
    "shuffle",
    "class_weight",
    "callbacks",
    "steps_per_execution",
    "run_eagerly",
)
PREDICT_SETTINGS = ("batch_size", "verbose")
# Bare parameters that are Keras fit (or compile) arguments but not
# estimator parameters.
BARE_FIT_SETTINGS = (
    "validation_split",
    "validation_batch_size",
    "shuffle",
    "steps_per_execution",
    "run_eagerly",
)
# SciKeras parameters that skdigits does not take, and what to do instead.
UNSUPPORTED = {
    "build_fn": "pass the model function as model=",
}


def is_routed(name):
    """Whether ``name`` is a routed parameter (``<destination>__<name>``)."""
    head, sep, tail = name.partition("__")
    return bool(sep and tail) and head in DESTINATIONS


def routed(params, destination):
    """The parameters routed to ``destination``, prefix removed."""
    prefix = destination + "__"
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def bare(extra):
    """The bare (unrouted) extra parameters."""
    return {k: v for k, v in extra.items() if not is_routed(k)}


def fit_settings(named, extra):
    """The fit's settings: the estimator's named parameters, overridden by
    bare Keras fit arguments, overridden by ``fit__`` ones.

    ``named`` holds the estimator's own ``batch_size``, ``epochs``,
    ``verbose``, ``class_weight`` and ``callbacks``.
    """
    settings = dict(named)
    settings.update({k: v for k, v in bare(extra).items() if k in BARE_FIT_SETTINGS})
    fit = routed(extra, "fit")
    unknown = sorted(set(fit) - set(FIT_SETTINGS))
    if unknown:
        raise ValueError(
            f"fit__{unknown[0]} is not a fit setting skdigits knows; routed fit "
            f"settings are fit__{', fit__'.join(FIT_SETTINGS)}"
        )
    settings.update(fit)
    return settings


def predict_settings(extra):
    settings = routed(extra, "predict")
    unknown = sorted(set(settings) - set(PREDICT_SETTINGS))
    if unknown:
        raise ValueError(
            f"predict__{unknown[0]} is not a prediction setting; routed "
            f"prediction settings are predict__{', predict__'.join(PREDICT_SETTINGS)}"
        )
    return settings


def model_arguments(function, extra, *, meta, compile_kwargs, params):
    """The keyword arguments to call the model function ``function`` with.

    The bare extra parameters (other than Keras fit arguments) and the
    ``model__`` ones (which win); ``meta``, ``compile_kwargs`` and
    ``params`` where the function names them or takes ``**kwargs``. A
    parameter the function does not take, and an argument without a
    default that nothing gives, are ``ValueError``s naming them.
    """
    signature = inspect.signature(function)
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    given = {k: v for k, v in bare(extra).items() if k not in BARE_FIT_SETTINGS}
    for key in given:
        if key in UNSUPPORTED:
            raise ValueError(f"{key} is not a parameter here: {UNSUPPORTED[key]}")
        if "__" in key:
            raise ValueError(
                f"{key}: skdigits routes parameters that start with "
                f"{'__, '.join(DESTINATIONS)}__"
            )
    given.update(routed(extra, "model"))
    nested = sorted(k for k in routed(extra, "model") if "__" in k)
    if nested:
        raise ValueError(f"model__{nested[0]}: model parameters have one level")
    name = getattr(function, "__name__", repr(function))
    if not takes_any:
        unknown = sorted(set(given) - set(parameters))
        if unknown:
            raise ValueError(
                f"the model function {name}() takes no argument {unknown[0]!r}, "
                f"given as the parameter {unknown[0]} or model__{unknown[0]}"
            )
    for key, value in (
        ("meta", meta),
        ("compile_kwargs", compile_kwargs),
        ("params", params),
    ):
        if key in parameters or takes_any:
            given.setdefault(key, value() if callable(value) else value)
    missing = [
        p.name
        for p in parameters.values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in given
    ]
    if missing:
        raise ValueError(
            f"the model function {name}() needs {missing[0]!r}: pass it as "
            f"model__{missing[0]}=..."
        )
    return given


def entries_arguments(spec, params, name):
    """Per entry of ``spec`` (a class, name, instance, list or dict), the
    routed ``params`` (``<name>__`` stripped) that reach it.

    Returns a list of ``(entry, arguments)`` pairs, and for a dict the keys
    in the same order. An argument given to an instance, or to an index or
    key that does not exist, is a ``ValueError``.
    """
    if isinstance(spec, dict):
        keys, entries = list(spec), list(spec.values())
    elif isinstance(spec, list | tuple):
        keys, entries = list(range(len(spec))), list(spec)
    else:
        keys, entries = [None], [spec]
    per_entry = [{} for _ in entries]
    labels = [str(k) for k in keys]
    for key, value in params.items():
        head, sep, tail = key.partition("__")
        if not sep and (head.isdigit() or head in labels[1:]):
            raise ValueError(
                f"{name}__{key}: positional arguments of {name} are not "
                "supported; give the object built instead"
            )
        if sep and head in labels:
            targets, argument = [labels.index(head)], tail
        elif sep and head.isdigit():
            raise ValueError(f"{name}__{key}: {name} has no entry {head}")
        else:
            targets = [
                i
                for i, e in enumerate(entries)
                if isinstance(e, str | type) or keys[i] is None
            ]
            argument = key
        for i in targets:
            per_entry[i][argument] = value
    for entry, arguments in zip(entries, per_entry, strict=True):
        if arguments and not isinstance(entry, str | type):
            raise ValueError(
                f"{name}__{next(iter(arguments))} cannot apply to {name} entry "
                f"{entry!r}, an object already built: give its class instead"
            )
    return list(zip(entries, per_entry, strict=True)), (
        keys if isinstance(spec, dict) else None
    )
