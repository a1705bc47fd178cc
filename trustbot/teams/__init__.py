"""Microsoft Teams: the same product, through Microsoft's Teams SDK for Python.

Importing `microsoft_teams.apps` loads the nearest `.env` (in the working directory or any parent)
into the process environment, where the SDK then finds generic CLIENT_ID / CLIENT_SECRET /
TENANT_ID variables for any option left empty. trustbot validates its own settings and passes
every value explicitly, so before any SDK import this package turns python-dotenv's loading off
(python-dotenv >= 1.2 honours PYTHON_DOTENV_DISABLED), and `serve` refuses to start while the
generic variables are set.
"""

import os

os.environ["PYTHON_DOTENV_DISABLED"] = "1"

import warnings

# The SDK warns, on import and on every client it builds, about its own preview and deprecated
# internals (HtmlWidgetSecurityPolicy, BotClient) that trustbot does not use; an operator can do
# nothing about them, so they stay out of the log.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"microsoft_teams(\.|$)")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"microsoft_teams(\.|$)")
