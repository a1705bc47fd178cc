"""Platform-neutral rendering of reports: text for terminals, charts as images."""
