"""The Slack Web API emulator by API family, composed by
:class:`trustbot.devtools.emulator.SlackEmulator`."""
