"""llmagentos.tools."""
