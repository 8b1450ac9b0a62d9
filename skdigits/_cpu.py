"""What this CPU offers, and TensorFlow's kernels chosen for it.

No TensorFlow import here: ``skdigits/__init__.py`` calls
``choose_onednn`` before anything imports TensorFlow.

- **oneDNN.** TensorFlow's x86 wheels turn their oneDNN kernels on only
  where the CPU has AVX-512 VNNI, BF16 or AMX; elsewhere (AVX2 machines)
  convolutions run on Eigen's, which train the default CNN at about half
  the speed (``benchmarks/README.md``). skdigits asks for oneDNN on every
  x86-64 CPU, unless ``TF_ENABLE_ONEDNN_OPTS`` is set already (the user's
  choice wins) or TensorFlow was imported first (too late to choose).
- **bfloat16.** Mixed bfloat16 pays only where the CPU multiplies bfloat16
  natively (AVX512_BF16 or AMX-BF16); elsewhere each product is emulated,
  and float32 is faster. ``precision="auto"`` asks ``auto_precision``.
"""

import functools
import os
import platform
import sys

PRECISIONS = ("float32", "mixed_bfloat16")
# /proc/cpuinfo's names of native bfloat16 arithmetic.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags, as the kernel lists them (empty where it
    does not, as off Linux)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def auto_precision(flags=None):
    """``"mixed_bfloat16"`` where the CPU has native bfloat16 products,
    else ``"float32"``."""
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if BF16_FLAGS & set(flags) else "float32"


def resolve_precision(precision, flags=None):
    """A ``precision`` parameter as the dtype policy a network is built with."""
    if precision == "auto":
        return auto_precision(flags)
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be 'auto' or one of {PRECISIONS}, got {precision!r}"
        )
    return precision


def choose_onednn(environ=None, machine=None, modules=None):
    """Ask TensorFlow for its oneDNN kernels (see the module's notes).
    Return whether this set ``TF_ENABLE_ONEDNN_OPTS``."""
    environ = os.environ if environ is None else environ
    machine = platform.machine() if machine is None else machine
    modules = sys.modules if modules is None else modules
    if "TF_ENABLE_ONEDNN_OPTS" in environ or "tensorflow" in modules:
        return False
    if machine.lower() not in ("x86_64", "amd64"):
        return False
    environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return True
