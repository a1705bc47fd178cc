"""Getting prompts out: the deliveries table is the outbox, the sender drains it."""
