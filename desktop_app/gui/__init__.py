"""The desktop window (PySide6 on a qasync loop).

Importing this package guards Python < 3.12 against PySide6 6.12's reference-count bug
(see :mod:`desktop_app.gui.refcount_guard`) before any Qt call is made.
"""

from desktop_app.gui.refcount_guard import guard_singletons

guard_singletons()
