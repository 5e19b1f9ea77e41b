"""Model files: the catalog of quants on the hub, downloads, the installed store, file checks and fit."""
