"""lms-console: a desktop workbench for LMS administrators."""

__version__ = "0.1.0"
