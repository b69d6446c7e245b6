"""llmagentos.ipc."""
