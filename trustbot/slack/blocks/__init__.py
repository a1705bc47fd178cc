"""Pure functions that return Block Kit: no I/O, no Slack client."""
