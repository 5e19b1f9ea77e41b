"""The Qt-free core: engine, models, images, prompts, export and jobs."""

import os

# huggingface-hub (2.4) sends telemetry in its user agent and fetches an "agent harness" registry from the
# hub when it builds request headers. An offline app talks to the hub only to list and fetch model files.
# Set before any core module imports huggingface-hub, which reads it once at import.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
