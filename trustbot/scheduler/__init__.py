"""The clock: APScheduler fires the weekly jobs; the database remembers what they did."""
