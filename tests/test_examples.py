"""Each example runs on its own in --quick mode (slow: CI runs them)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick(script):
    done = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Each example reports how well its models do: accuracy or R².
    assert "accuracy" in done.stdout.lower() or "r²" in done.stdout.lower()


def test_every_example_has_quick_mode():
    assert len(EXAMPLES) >= 4
    for script in EXAMPLES:
        assert "--quick" in script.read_text(), script.name
