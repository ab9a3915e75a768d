"""Text that a word-wrapped label can break: a long run without spaces (a 180-character course short
name, a URL) otherwise makes the label, and the dialog around it, as wide as the run."""

from __future__ import annotations

LONGEST_RUN = 40


def breakable(text: str, run: int = LONGEST_RUN) -> str:
    """``text`` with a zero-width space in every run of more than ``run`` characters without a space."""
    if len(text) <= run or all(len(word) <= run for word in text.split()):
        return text
    return " ".join("\u200b".join(word[i:i + run] for i in range(0, len(word), run)) for word in text.split(" "))


__all__ = ["LONGEST_RUN", "breakable"]
