"""The window's queue held because captions cannot be saved (a read-only folder, a full disk).

The run that met the problem stops, keeping what it made; the queue is held, since it would fail image after
image, until Start. When the user chooses another caption folder (``elsewhere``), new runs save there, and so
do the runs that met the problem when they go on (``folder_for``): each is the same run, its captions moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from caprl_desktop.core.atomic import WriteError


@dataclass
class SaveHold:
    problem: WriteError | None = None  # why the queue is held; None when it is not
    stopped_runs: set[int] = field(default_factory=set)  # the runs that stopped because of such a problem
    moved: dict[int, str] = field(default_factory=dict)  # such a run's captions go to this folder when it goes on

    def hold(self, problem: WriteError, job_id: int | None) -> None:
        self.problem = problem
        if job_id is not None:
            self.stopped_runs.add(job_id)

    def let_go(self) -> bool:
        """Start lets the queue go; True when it was held."""
        held, self.problem = self.problem is not None, None
        return held

    def elsewhere(self, folder: str) -> None:
        """Captions go under ``folder`` now, also those of the runs that stopped."""
        for job_id in self.stopped_runs:
            self.moved[job_id] = folder

    def folder_for(self, job_id: int | None) -> str | None:
        """Where a resumed run's captions go instead of its own folder (None: its own)."""
        return self.moved.get(job_id) if job_id is not None else None
