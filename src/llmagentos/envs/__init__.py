"""llmagentos.envs."""
