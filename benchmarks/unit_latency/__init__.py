"""Assignment sent → shown on the crew's device app, in a real browser (`python -m benchmarks.unit_latency`)."""
