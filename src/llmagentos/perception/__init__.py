"""llmagentos.perception."""
