"""Every tier records what the sandboxes answer and checks it against the platforms' schemas."""

pytest_plugins = ["tests.support.conformance.plugin"]
