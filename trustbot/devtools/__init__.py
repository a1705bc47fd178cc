"""Local development and test tools: a Slack Web API emulator and a signed request driver."""
