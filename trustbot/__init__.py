"""trustbot: a chat bot that helps a company live its culture through trust."""

__version__ = "0.1.0"
