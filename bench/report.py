"""Benchmark: the 8-week trust report with team breakdowns over 100 weeks of 10,000 people.

Prints figures; asserts nothing. For each database (a SQLite file; PostgreSQL in a database of
its own, created and dropped here) it builds, with the project's Alembic migrations and the
models' tables (COPY on PostgreSQL, executemany on SQLite):

* one prompt delivery per person and weekly round, `--weeks` rounds, the last one still open;
  most sent, some skipped or failed; the person's team taken at delivery (people change teams
  now and then; a few are in no team, one team is tiny); a reminder to those who had not
  answered by Wednesday;
* answers from 50-80 % of the people each week (the share drifts, each person has their own
  eagerness), scores around a mean per rule that drifts from week to week, shifted per team and
  per person: 10,000 people x 100 weeks is 1,000,000 deliveries and about 650,000 answers;
* reactions on about 4 % of the prompts, and 5 stories per 100 people a week (50,000 for 10,000
  people over 100 weeks), named, anonymous or private;
* the closed rounds closed and aggregated by the product's own `finalize_closed_rounds`.

Then, in a fresh process started from this light one (so neither building the data nor a big
parent counts in its peak RSS), it times `current_trust_report` as `/trust-report` calls it
(8 weeks, every team's breakdown, the reader's pseudonym) and as the leadership digest calls it,
interleaved with one hand-written SELECT over the same rows: delivered, answered and average
score per week, rule and team for the 8 weeks, from the raw rows (the floor). It checks once
that the report's shown figures equal that query's, and prints the medians, the ratio report /
floor and the peak RSS (`getrusage`) of the measuring process.

    .venv/bin/python bench/report.py [--people 10000] [--weeks 100] [--backend both]
        [--runs 15] [--keep] [--postgres-url URL] [--data-dir DIR]

With --keep the built databases stay (the SQLite file in --data-dir, default
$TMPDIR/trustbot-bench; PostgreSQL's `trustbot_bench_report_<people>x<weeks>`), and the next
run of the same size reuses them, migrated to the newest schema: only the first run pays for
the build (several minutes at full size).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("report_worker.py")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS, TARGET_RATIO, TARGET_RSS_MB = 200.0, 2.0, 200.0


def worker(*arguments: str) -> dict[str, Any]:
    """Run one step of report_worker.py in a fresh interpreter; its JSON answer."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(WORKER), *arguments],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def show(backend: str, prepared: dict[str, Any], result: dict[str, Any]) -> bool:
    """Print one backend's figures; whether every target is met."""
    counts = prepared["counts"]
    times = result["times"]
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["report"] / medians["floor"]
    rss_mb = result["rss_peak_kb"] / 1024
    print(
        f"{backend}: {prepared['prepared']}; {counts['deliveries']:,} deliveries, "
        f"{counts['pulse_answers']:,} answers, {counts['reactions']:,} reactions, "
        f"{counts['anecdotes']:,} stories, {counts['rounds']} rounds"
    )
    shown, hidden = result["team_figures"]
    print(f"  8-week report: {shown} team figures shown, {hidden} hidden (threshold)")
    problems = result["problems"]
    verdict = "yes" if not problems else "NO: " + "; ".join(problems[:5])
    print(f"  report's figures = hand-written SQL's: {verdict}")
    labels = {
        "report": "/trust-report (8 weeks, teams)",
        "digest": "digest report (the same call)",
        "floor": "floor (one SELECT over the raw rows)",
        "aggregates": "one SELECT over aggregates + open rows",
    }
    for name, label in labels.items():
        values = times[name]
        print(
            f"  {label:<40} median {medians[name]:6.1f} ms, "
            f"min {min(values):6.1f}, max {max(values):6.1f} ({len(values)} runs)"
        )
    print(
        f"  ratio report / floor: {ratio:.2f} (report / the aggregates SELECT, for "
        f"information: {medians['report'] / medians['aggregates']:.1f})"
    )
    hwm = result.get("vm_hwm_kb")
    print(
        f"  peak RSS of the measuring process: {rss_mb:.0f} MB "
        f"(after imports {result['rss_start_kb'] / 1024:.0f} MB, after the first reports "
        f"{result['rss_ready_kb'] / 1024:.0f} MB"
        + (f"; kernel VmHWM {hwm / 1024:.0f} MB)" if hwm else ")")
    )
    met = (
        max(medians["report"], medians["digest"]) <= TARGET_MS
        and ratio <= TARGET_RATIO
        and rss_mb <= TARGET_RSS_MB
        and not problems
    )
    print(
        f"  targets (median <= {TARGET_MS:.0f} ms, ratio <= {TARGET_RATIO:.0f}, "
        f"RSS <= {TARGET_RSS_MB:.0f} MB): {'met' if met else 'NOT MET'}",
        flush=True,
    )
    return met


def run(args: argparse.Namespace, data_dir: Path) -> bool:
    """Every backend asked for: prepare, measure, show, drop; whether all met the targets."""
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    size = (str(args.people), str(args.weeks), str(args.open_rounds))
    met = True
    for backend in backends:
        try:
            prepared = worker(
                "prepare",
                backend,
                *size,
                *(["--keep"] if args.keep else []),
                "--postgres-url",
                args.postgres_url,
                "--data-dir",
                str(data_dir),
            )
            result = worker("measure", prepared["url"], str(args.runs))
            met = show(backend, prepared, result) and met
        finally:
            if backend == "postgresql" and not args.keep:
                worker("drop", args.postgres_url, *size)
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--open-rounds",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: last week's round is still open too (its close job failed or has not run)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the built databases and reuse them on the next run of the same size",
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--data-dir", help="where the SQLite file goes (with --keep)")
    args = parser.parse_args()
    print(
        f"people: {args.people}; weeks: {args.weeks} (the last {args.open_rounds} open); "
        f"runs: {args.runs}; python {sys.version.split()[0]}",
        flush=True,
    )
    if args.keep:
        data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / "trustbot-bench")
        data_dir.mkdir(parents=True, exist_ok=True)
        return 0 if run(args, data_dir) else 1
    with tempfile.TemporaryDirectory(dir=args.data_dir) as scratch:
        return 0 if run(args, Path(scratch)) else 1


if __name__ == "__main__":
    sys.exit(main())
