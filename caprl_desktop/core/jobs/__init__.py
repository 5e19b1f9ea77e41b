"""Caption jobs: finding images, scheduling captions, sidecars, the journal and folder locks."""
