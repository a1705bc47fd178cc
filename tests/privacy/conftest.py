"""Fixtures of the privacy suite: the leader's company (tests/privacy/leader.py)."""

import pytest

from tests.privacy.leader import fast_weeks, firm

__all__ = ["fast_weeks", "firm"]


@pytest.fixture(autouse=True)
def _charts_drawn_once(charts_drawn_once: None) -> None:
    """A leader reads the same chart many times over: it is drawn once (tests/conftest.py)."""
