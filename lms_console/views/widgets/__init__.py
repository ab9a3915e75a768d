"""Reusable widgets: the inline error banner, status-bar indicators, item delegates."""
