"""TensorFlow's first import, quiet: no absl start-up lines on the console.

TensorFlow's first import writes C++ log lines straight to file descriptor
2 (through absl, before TensorFlow's own logging is set up, so that
``TF_CPP_MIN_LOG_LEVEL`` does not reach them): where oneDNN is on (the
default on x86 CPUs with AVX-512 VNNI or AMX, and wherever
``TF_ENABLE_ONEDNN_OPTS=1``) an "oneDNN custom operations are on" line and
absl's "All log messages before absl::InitializeLog()" banner, twice.

While that import runs, descriptor 2 goes through a pipe that drops the
absl lines below ``TF_CPP_MIN_LOG_LEVEL`` (the user's value, else the
default 2 that ``skdigits/__init__.py`` sets: info and warnings dropped,
errors kept) and passes everything else on as it arrives, so an import
that fails still shows why. ``install()`` applies this to the first import
of TensorFlow after ``import skdigits``, whoever imports it (skdigits, or
the user's own ``import keras``). Nothing else is changed here (``_cpu``
chooses oneDNN), and Python's logging and warnings are
untouched (but for one warning that NumPy 1.x gives about a patch Keras
3.13 makes while it is imported). No TensorFlow is imported here.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import threading
import warnings

# absl's log line prefix: severity letter, MMDD, time (before absl is set up,
# "00:00:<seconds since 1970>"), thread id, file:line].
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")
_ABSL_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
_NP_OBJECT = r"In the future `np.object` will be defined"


def _min_log_level():
    value = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip()
    return int(value) if value.isdigit() else 0


def _dropped(line, min_level):
    """Whether ``line`` (bytes) is an absl log line below ``min_level``."""
    if line.startswith(_ABSL_BANNER):  # says where early lines go: info
        return min_level > _SEVERITY[b"I"]
    match = _ABSL_LINE.match(line)
    return match is not None and _SEVERITY[match.group(1)] < min_level


@contextlib.contextmanager
def filtered_stderr(min_level=None):
    """Inside, lines written to descriptor 2 pass through ``_dropped``."""
    if min_level is None:
        min_level = _min_log_level()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, AttributeError, ValueError):  # no usable descriptor 2
        yield
        return

    def forward():
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not _dropped(line, min_level):
                    os.write(saved, line)

    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=forward, name="skdigits-stderr", daemon=True)
    thread.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the thread ends
        thread.join(timeout=10)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, its module's execution inside
    ``filtered_stderr``."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            with filtered_stderr(), warnings.catch_warnings():
                # Keras 3.13 patches tf2onnx as it is imported (with
                # TensorFlow), and NumPy 1.x warns about np.object then.
                warnings.filterwarnings(
                    "ignore", message=_NP_OBJECT, category=FutureWarning
                )
                self._loader.exec_module(module)
        finally:  # the module keeps TensorFlow's own loader
            module.__loader__ = self._loader
            if module.__spec__ is not None:
                module.__spec__.loader = self._loader

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds TensorFlow once, to load it with ``_QuietLoader``."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_finder = _QuietTensorFlow()


def install():
    """Quiet the next first import of TensorFlow (nothing if it is imported)."""
    if "tensorflow" not in sys.modules and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall():
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(_finder)
