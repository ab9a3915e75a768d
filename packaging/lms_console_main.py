"""Entry script of the desktop bundle: the ``lms-console`` command (GUI, subcommands, --self-test).

The bundle's executable is this script, so it also serves ``lms-console sandbox --ready-line``,
which :class:`lms_console.sandbox.process.SandboxProcess` starts when frozen.
"""

import sys

from lms_console.cli import main

if __name__ == "__main__":
    sys.exit(main())
