"""Benchmarks: commands that print numbers (`dispatch bench`, `python -m benchmarks.<name>`)."""
