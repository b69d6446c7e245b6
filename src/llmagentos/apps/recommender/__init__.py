"""The recommender: a user's history in long-term memory, turned into recommendations."""
