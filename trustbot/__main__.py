"""`python -m trustbot`, the same as the `trustbot` command."""

from trustbot.cli import main

main()
