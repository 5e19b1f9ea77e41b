"""Developer tools: synthetic model files for tests and benchmarks."""
