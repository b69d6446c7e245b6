"""llmagentos.kernel."""
