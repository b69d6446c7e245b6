"""The summarizer app: the seed's `summarize(text)`, running as a kernel process."""
