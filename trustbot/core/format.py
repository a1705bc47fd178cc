"""How figures read, the same on every platform: an index, a change, a share."""

from __future__ import annotations


def index_text(value: float | None, bound: str = "") -> str:
    """A trust index 0-100, rounded; "≥90" or "≤10" when it is a bound; an em dash when there
    is none."""
    if value is None:
        return "—"
    return {"at_least": "≥", "at_most": "≤"}.get(bound, "") + f"{value:.0f}"


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


def at_least_text(value: int | None, *, exact: bool) -> str:
    """A count as shown: exact, or "≥N" when it is a band's lower end."""
    if value is None:
        return "—"
    return str(value) if exact else f"≥{value}"


def participation_text(value: float | None, *, exact: bool) -> str:
    """A participation share as shown: exact, or "≥N%" when it is a band's lower end."""
    text = share_text(value)
    return text if exact or value is None else "≥" + text
