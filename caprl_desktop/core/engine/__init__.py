"""The caption engine: a client in the app process, and the process that runs llama.cpp (``_llama``)."""
