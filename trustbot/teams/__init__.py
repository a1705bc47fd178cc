"""Microsoft Teams: the same product, through Microsoft's Teams SDK for Python.

Importing this package does nothing by itself. Whoever is about to import the SDK (the
composition root, before `trustbot.teams.app`) calls `prepare_teams_sdk()` first.
"""

from __future__ import annotations

import os
import warnings


def prepare_teams_sdk() -> None:
    """Keep the Teams SDK from reading `.env` files, and its own warnings out of the log.

    Importing `microsoft_teams.apps` loads the nearest `.env` (in the working directory or any
    parent) into the process environment, where the SDK then finds generic CLIENT_ID /
    CLIENT_SECRET / TENANT_ID variables for any option left empty. trustbot validates its own
    settings and passes every value explicitly, so python-dotenv's loading is turned off before
    the first SDK import (python-dotenv >= 1.2 honours PYTHON_DOTENV_DISABLED), and `serve`
    refuses to start while the generic variables are set.

    The SDK also warns, on import and on every client it builds, about its own preview and
    deprecated internals (HtmlWidgetSecurityPolicy, BotClient) that trustbot does not use; an
    operator can do nothing about them. Calling this again changes nothing.
    """
    os.environ["PYTHON_DOTENV_DISABLED"] = "1"
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=r"microsoft_teams(\.|$)")
