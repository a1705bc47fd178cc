"""Platform-neutral business rules: never imports slack_bolt or a Teams SDK."""
