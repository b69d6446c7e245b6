"""llmagentos.memory."""
