"""Helpers shared by the tests: synthetic GGUF models, a hub stand-in, images and fault injection."""
