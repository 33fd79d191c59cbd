"""Throw-away servers for the end-to-end tests and the benchmarks."""
