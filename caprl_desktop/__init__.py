"""CapRL Desktop: offline image captioning with CapRL-3B through llama.cpp."""

__version__ = "0.1.0"
