"""``python -m lms_console.sandbox``: serve a sandbox LMS and print one SANDBOX_READY line."""

import sys

from lms_console.sandbox.cli import main

sys.exit(main(["--ready-line", *sys.argv[1:]]))
