"""Why the hub could not be used, as a few kinds each face puts in its own words.

The core's exceptions keep an English sentence for the command line; the window reads the kind instead and
says it in the user's language, beside the list it could not fill. Kept apart from ``hub.py`` so that the
catalog, which ``hub.py`` imports, can record the kind of a fallback without an import cycle.
"""

from __future__ import annotations

from enum import Enum


class HubProblem(Enum):
    OFFLINE_MODE = "offline mode"  # HF_HUB_OFFLINE is set: the hub was not asked at all
    NO_CONNECTION = "no connection"  # no network, the hub's name does not resolve, or the connection is refused
    TIMEOUT = "timeout"  # connected (or trying to), but no answer in time
    HUB_ERROR = "hub error"  # the hub answered with an error status (busy, failing, refusing)
    NOT_THE_HUB = "not the hub"  # something else answered: a Wi-Fi sign-in page, a proxy
    NOT_FOUND = "not found"  # the repository, revision or file is not (or no longer) on the hub

    @property
    def offline(self) -> bool:
        """Whether this computer cannot talk to the hub now, so files on disk are the way to go on."""
        return self in (HubProblem.OFFLINE_MODE, HubProblem.NO_CONNECTION, HubProblem.TIMEOUT,
                        HubProblem.NOT_THE_HUB)


def busy_or_failing(status: int) -> bool:
    """An HTTP status worth asking again after a while (a time-out, too many requests, a server error), from the
    hub or any download server."""
    return status in (408, 429) or status >= 500
