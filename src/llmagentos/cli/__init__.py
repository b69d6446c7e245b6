"""llmagentos.cli."""
