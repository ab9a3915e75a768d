"""UserError: what the admin gave cannot be used (a file, a name, a filter, a rule, a local path).

Not a bug and not the LMS: the message says in plain words what is wrong and where, and the view
shows it next to what was given. The TaskRunner does not send these to the crash dialog (nor
:class:`~lms_console.services.lms.errors.LmsError`); everything else a job raises is a bug.
"""

from __future__ import annotations


class UserError(Exception):
    """Base class of the problems with the admin's input."""


__all__ = ["UserError"]
