"""TensorFlow's first import through skdigits: quiet, yet failures show."""

import subprocess
import sys
import textwrap

import pytest

from skdigits import _quiet_import

ONEDNN = (
    b"I0000 00:00:1795788532.659192   13195 port.cc:153] oneDNN custom "
    b"operations are on. You may see slightly different numerical results.\n"
)
BANNER = (
    b"WARNING: All log messages before absl::InitializeLog() is called are "
    b"written to STDERR\n"
)
WARNING = b"W0000 00:00:1795788532.659192   13195 some.cc:1] a warning\n"
ERROR = b"E0000 00:00:1795788532.659192   13195 some.cc:2] an error\n"


@pytest.mark.parametrize(
    ("level", "dropped"),
    [
        (0, set()),
        (1, {ONEDNN, BANNER}),
        (2, {ONEDNN, BANNER, WARNING}),
        (3, {ONEDNN, BANNER, WARNING, ERROR}),
    ],
)
def test_absl_lines_below_the_level_are_dropped(level, dropped):
    for line in (ONEDNN, BANNER, WARNING, ERROR, b"Traceback (most recent)\n"):
        assert _quiet_import._dropped(line, level) == (line in dropped)


def fake_tensorflow(folder, body):
    """A package named tensorflow whose import runs ``body``."""
    package = folder / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(body))
    return folder


def run_import(folder, env_level=None):
    env = {"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"}
    if env_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = env_level
    return subprocess.run(
        [sys.executable, "-c", "import skdigits.callbacks"],
        capture_output=True,
        env=env,
        timeout=120,
    )


def test_a_failing_import_still_says_why(tmp_path):
    # What a broken build prints at import goes through, info lines do not.
    folder = fake_tensorflow(
        tmp_path,
        f"""
        import os
        os.write(2, {BANNER + ONEDNN!r})
        os.write(2, {ERROR!r})
        os.write(2, b"Illegal instruction in a fake kernel\\n")
        raise ImportError("this TensorFlow build is broken")
        """,
    )
    done = run_import(folder)
    assert done.returncode != 0
    assert b"oneDNN" not in done.stderr and b"InitializeLog" not in done.stderr
    assert ERROR in done.stderr
    assert b"Illegal instruction in a fake kernel" in done.stderr
    assert b"ImportError: this TensorFlow build is broken" in done.stderr


def test_the_users_log_level_wins(tmp_path):
    folder = fake_tensorflow(
        tmp_path,
        f"""
        import os
        os.write(2, {ONEDNN!r})
        raise ImportError("stop here")
        """,
    )
    assert ONEDNN not in run_import(folder).stderr
    assert ONEDNN in run_import(folder, env_level="0").stderr


def without_tensorflow(code):
    """Run ``code`` in a fresh process where TensorFlow cannot be imported."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['tensorflow'] = None\n" + textwrap.dedent(code),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_tensorflow_is_one_line_naming_the_extra():
    done = without_tensorflow(
        """
        try:
            from skdigits import KerasMLPClassifier
        except ImportError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    assert "skdigits[cpu]" in line and "skdigits[tensorflow]" in line
    # The data sets need no TensorFlow.
    done = without_tensorflow("from skdigits.datasets import load_mnist; print('ok')")
    assert done.stdout.strip() == "ok", done.stderr


def test_missing_tensorflow_in_the_command_line():
    done = without_tensorflow(
        """
        from skdigits._cli import main
        sys.exit(main(["train", "--max-samples", "100"]))
        """
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("skdigits train: error: ") and "skdigits[cpu]" in line


def test_users_own_first_import_after_skdigits_is_quiet_too():
    # "import skdigits" first, then the user's own "import keras": the
    # first TensorFlow import is still quiet, and TensorFlow keeps its own
    # loader. (Run with TF_ENABLE_ONEDNN_OPTS=1 by CI, as on CPUs where
    # oneDNN is on by default.)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import skdigits.datasets, keras, tensorflow as tf\n"
            "assert 'Quiet' not in type(tf.__spec__.loader).__name__\n"
            "assert type(tf.__loader__) is type(tf.__spec__.loader)\n"
            "print(tf.constant(2.0).numpy())",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2.0" and done.stderr == ""
