"""Caption records and their exports (CSV, JSON Lines, Hugging Face metadata)."""
