"""Words that every layer shares, from the tables up to the chat platforms; imports nothing.

They live below both `db/` (which stores them) and `core/` (which decides with them), so that
neither has to import the other to name them.
"""

from __future__ import annotations

import enum


class Visibility(enum.StrEnum):
    """Who may see a story: its author chooses."""

    NAMED = "named"  # in reports, with the author's name
    ANONYMOUS = "anonymous"  # in reports, without a name
    PRIVATE = "private"  # never shown; only counted
