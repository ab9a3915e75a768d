"""A local Moodle-compatible LMS for the demo and for every test and benchmark.

It answers Moodle's web-service protocol on 127.0.0.1 (REST server, upload.php,
login/token.php, webservice/pluginfile.php) from its own SQLite store, seeded
deterministically with a realistic site, and can inject faults.  It imports
nothing from the rest of the application.

Public API: :class:`SandboxServer` (in-process), :class:`SandboxProcess`
(in a subprocess), :class:`SandboxSettings`, :class:`FaultSettings`,
:func:`seed`.
"""

from .settings import FaultSettings, SandboxSettings

__all__ = ["FaultSettings", "SandboxProcess", "SandboxServer", "SandboxSettings", "seed"]


def __getattr__(name):
    # Lazy imports keep `import lms_console.sandbox` cheap for the CLI.
    if name == "SandboxServer":
        from .server import SandboxServer

        return SandboxServer
    if name == "SandboxProcess":
        from .process import SandboxProcess

        return SandboxProcess
    if name == "seed":
        from .seed import seed

        return seed
    raise AttributeError(name)
