"""Flush denormal floats to zero while training, on x86-64 Linux.

Numbers smaller than the smallest normal float32 (about 1.2e-38) are "denormal". x86 processors
handle them in microcode, up to a hundred times slower than normal numbers. Training drifts into
them: a momentum buffer multiplied by 0.9 at every step, for a weight whose gradient is nearly
always zero, decays through the denormal range for about 150 steps before it reaches zero.

Two bits of the SSE control register MXCSR avoid this: FTZ (flush to zero, bit 15) turns denormal
results into 0 and DAZ (denormals are zero, bit 6) reads denormal inputs as 0. The register belongs
to the thread; glibc's ``fegetenv``/``fesetenv`` (in libm) read and write it together with the x87 state, in
a ``fenv_t`` whose last 4 bytes are MXCSR. :func:`flush_denormals` sets both bits for the duration of
a ``with`` block, in the calling thread (where NumPy's elementwise loops run), and restores the
previous state afterwards, so code outside the block sees standard IEEE arithmetic.

Elsewhere (other processors, other C libraries) it does nothing, and training is merely slower
when denormals occur.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform
import sys

FTZ = 1 << 15
DAZ = 1 << 6
_FENV_SIZE = 32  # sizeof(fenv_t) on x86-64 glibc
_MXCSR_OFFSET = 28  # offsetof(fenv_t, __mxcsr)


def _libm():
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        libm.fegetenv, libm.fesetenv  # noqa: B018 - present in glibc's libm
    except (OSError, AttributeError):
        return None
    return libm


_LIBM = _libm()


def supported() -> bool:
    """Whether :func:`flush_denormals` can change anything on this machine."""
    return _LIBM is not None


def _environment() -> ctypes.Array:
    env = ctypes.create_string_buffer(_FENV_SIZE)
    if _LIBM.fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    return env


def flush_denormals_in_this_thread() -> None:
    """Set FTZ and DAZ for good in the calling thread (for nnet's own worker threads)."""
    if _LIBM is None:
        return
    env = _environment()
    mxcsr = int.from_bytes(env.raw[_MXCSR_OFFSET:], "little")
    env[_MXCSR_OFFSET:] = (mxcsr | FTZ | DAZ).to_bytes(4, "little")
    _LIBM.fesetenv(env)


@contextlib.contextmanager
def flush_denormals(enabled: bool = True):
    """Within the block, denormal float results and inputs are zero (calling thread only)."""
    if not enabled or _LIBM is None:
        yield
        return
    saved = _environment()
    flush_denormals_in_this_thread()
    try:
        yield
    finally:
        _LIBM.fesetenv(saved)
