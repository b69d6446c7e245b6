"""llmagentos.context."""
