"""Classifier and translator agents cooperating through messages (the seeds' example)."""
