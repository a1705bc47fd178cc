"""How figures read, the same on every platform: an index, a change, a share."""

from __future__ import annotations


def index_text(value: float | None) -> str:
    """A trust index 0-100, rounded; an em dash when there is none."""
    return "—" if value is None else f"{value:.0f}"


def change_text(value: float | None) -> str:
    """A change in index points with its direction: ▲ +3, ▼ −4, = 0."""
    if value is None:
        return ""
    rounded = round(value)
    if rounded > 0:
        return f"▲ +{rounded}"
    if rounded < 0:
        return f"▼ −{-rounded}"
    return "= 0"


def share_text(value: float | None) -> str:
    """A share 0-1 as a whole percentage."""
    return "—" if value is None else f"{100 * value:.0f}%"
