"""The Qt-free core: engine, models, images, prompts, export and jobs."""
