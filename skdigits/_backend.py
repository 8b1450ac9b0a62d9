"""TensorFlow and Keras, imported once for all of skdigits, quietly.

Every module of skdigits that needs them imports them from here, so that
the first import in a process goes through ``_quiet_first_import``. Without
TensorFlow (the base install has Keras but no backend) that import fails
with one line naming the extra to install.

TensorFlow's first import writes C++ log lines straight to file descriptor
2 (through absl, before TensorFlow's own logging is set up, so that
``TF_CPP_MIN_LOG_LEVEL`` does not reach them): where oneDNN is on (the
default on x86 CPUs with AVX-512 VNNI or AMX, and wherever
``TF_ENABLE_ONEDNN_OPTS=1``) an "oneDNN custom operations are on" line and
absl's "All log messages before absl::InitializeLog()" banner, twice.

While the import runs, descriptor 2 goes through a pipe that drops the
absl lines below ``TF_CPP_MIN_LOG_LEVEL`` (the user's value, else the
default 2 that ``skdigits/__init__.py`` sets: info and warnings dropped,
errors kept) and passes everything else on as it arrives, so an import
that fails still shows why. Nothing is changed
outside the import: oneDNN stays as TensorFlow chose, and Python's logging
and warnings are untouched.
"""

import contextlib
import os
import re
import sys
import threading

# absl's log line prefix: severity letter, MMDD, time (before absl is set up,
# "00:00:<seconds since 1970>"), thread id, file:line].
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")
_ABSL_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


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
def _filtered_stderr(min_level):
    """Inside, lines written to descriptor 2 pass through ``_dropped``."""
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


MISSING = (
    "skdigits trains through TensorFlow, which is not installed here: "
    "pip install 'skdigits[cpu]' (CPU only) or 'skdigits[tensorflow]'"
)


def _quiet_first_import():
    try:
        if "tensorflow" in sys.modules:  # imported already: nothing to quiet
            import tensorflow
        else:
            with _filtered_stderr(_min_log_level()):
                import tensorflow
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":
            raise  # a broken install: its own message says what is missing
        raise ImportError(MISSING, name="tensorflow") from None
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ImportError(
            f"skdigits trains through TensorFlow, but KERAS_BACKEND is "
            f"{backend!r}: unset it or set it to 'tensorflow'"
        )
    import keras

    return tensorflow, keras


tf, keras = _quiet_first_import()

__all__ = ["keras", "tf"]
