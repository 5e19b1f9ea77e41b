"""How far a caption can be trusted without reading it: guards that watch it stream (``guards``)."""
