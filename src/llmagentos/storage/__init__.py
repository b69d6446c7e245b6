"""llmagentos.storage."""
