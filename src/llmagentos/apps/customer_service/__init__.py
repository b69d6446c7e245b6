"""The customer service app: FAQ answers from long-term memory, order lookups, escalation."""
