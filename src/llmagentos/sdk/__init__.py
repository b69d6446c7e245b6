"""llmagentos.sdk."""
