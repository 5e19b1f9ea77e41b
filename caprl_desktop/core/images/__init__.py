"""Images as the model sees them: reading, orientation, scaling to the token budget."""
