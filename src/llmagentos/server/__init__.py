"""llmagentos.server."""
