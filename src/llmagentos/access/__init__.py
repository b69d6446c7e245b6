"""llmagentos.access."""
