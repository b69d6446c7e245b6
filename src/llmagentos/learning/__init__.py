"""llmagentos.learning."""
