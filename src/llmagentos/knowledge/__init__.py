"""llmagentos.knowledge."""
