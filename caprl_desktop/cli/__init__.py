"""The command-line face of the app."""
