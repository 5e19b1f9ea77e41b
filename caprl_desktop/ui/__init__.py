"""The desktop window: Qt code only, driving the same core as the command line."""
