"""Caption engines that are servers: OpenAI-compatible chat completions (vLLM, llama-server, LM Studio)."""
