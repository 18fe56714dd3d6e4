"""Work around a PySide6 6.12 reference-count bug on Python < 3.12.

PySide6 6.12.0 drops one reference to ``None`` on every call of a void-returning Qt
method (``setText``, ``update``, ``processEvents``...) and, for some calls, to ``True``
or ``False``. On Python 3.12+ these objects are immortal and nothing happens; on 3.11
the count reaches zero after some thousands of calls and the interpreter aborts with
"Fatal Python error: none_dealloc". (Measured here: 1,000 ``QLabel.setText`` calls ->
``sys.getrefcount(None)`` lower by 1,000.)

The guard does what Python 3.12 does: it makes these singletons effectively immortal
by adding a very large number of references once, before Qt is used. They are static
objects that are never freed anyway, so nothing else changes.
"""

from __future__ import annotations

import ctypes
import sys

_EXTRA_REFERENCES = 1 << 40  # ~1.1e12 leaked references before anything could go wrong
_guarded = False


def guard_singletons() -> bool:
    """Make None, True and False immortal on Python < 3.12. True when it acted."""
    global _guarded
    if _guarded or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        # CPython < 3.12: ob_refcnt (Py_ssize_t) is the first field of every object.
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA_REFERENCES
    _guarded = True
    return True
