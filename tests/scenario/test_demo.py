"""`trustbot demo` on both platforms, small: it runs to the end and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustbot.devtools.demo import run_demo
from trustbot.devtools.demo_teams import run_teams_demo


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_the_demo_ends_with_a_report_a_refusal_and_a_digest(
    platform: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)  # the chart lands in ./demo-output, and no .env is read
    # Slack's one message per second per channel is about real time; the demo's weeks pass in
    # milliseconds (the pacing has its own tests in tests/unit/delivery/test_pacing.py).
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)
    run = run_teams_demo if platform == "teams" else run_demo

    assert await run(employees=10, weeks=3, seed=3, language="en") == 0

    shown = capsys.readouterr().out
    assert "only available to selected leaders" in shown
    assert "Trust report: the last 3 weeks" in shown
    assert "Trust digest" in shown
    assert "nothing new to send" in shown  # prompting twice in a week sends nothing twice
    assert (tmp_path / "demo-output" / "trend-chart.png").read_bytes().startswith(b"\x89PNG")
    # The simulated people's clicks count: none dated outside its week, none refused.
    refused = [
        r.getMessage()
        for r in caplog.records
        if r.name == "trustbot.core.interactions" and "refused" in r.getMessage()
    ]
    assert refused == []
