"""The sentiment monitor: news items -> sentiment agent -> alert agent, over pub/sub topics."""
