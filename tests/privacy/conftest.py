"""Fixtures of the privacy suite: the leader's company (tests/privacy/leader.py)."""

from tests.privacy.leader import fast_weeks, firm

__all__ = ["fast_weeks", "firm"]
