"""``python -m lms_console``: same as the ``lms-console`` command."""

from lms_console.cli import main

raise SystemExit(main())
