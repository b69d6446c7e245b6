"""llmagentos.testing."""
