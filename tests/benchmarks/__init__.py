"""Benchmarks and measurement scripts (not collected by pytest); see docs/benchmarks.md."""
