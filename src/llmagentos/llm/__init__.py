"""llmagentos.llm."""
