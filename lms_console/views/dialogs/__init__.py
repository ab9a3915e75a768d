"""Dialogs of the console. Open them with ``open()``/``show()`` and a parent, never ``exec()``."""
