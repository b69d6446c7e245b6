"""llmagentos.apps."""
