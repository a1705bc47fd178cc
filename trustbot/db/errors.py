"""Database errors told in one line, without the SQL or its parameters."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError


def describe_database_error(error: SQLAlchemyError) -> str:
    """The driver's reason (e.g. "database is locked", "connection refused"), first line only.

    SQLAlchemy's own message carries the statement, and parameters such as a pseudonym next to
    a score must never reach a log.
    """
    reason = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    first_line = (str(reason).strip().splitlines() or [""])[0]
    if isinstance(reason, SQLAlchemyError):
        first_line = first_line.split("[SQL:", 1)[0].strip()
    return f"{type(reason).__name__}: {first_line}" if first_line else type(reason).__name__
