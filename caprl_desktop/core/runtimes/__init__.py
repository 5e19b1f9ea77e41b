"""llama.cpp runtimes: official ``llama-server`` builds the app downloads, checks, installs and runs as its engine.

``catalog`` names the pinned release and its assets for this computer, ``archives`` unpacks them safely,
``store`` keeps what is installed and which one is in use, ``install`` fetches and installs one, ``server``
runs ``llama-server`` as a child of the app (``children`` ties its life to the app's), ``engine`` captions
through it with the remote engine, and ``choice`` gives a run the engine the user chose.
"""
