"""Opening a run, once for the command line and the window: which starts first, the engine or the run's session,
how the run's records name the model, and what a resume changes in the run's own options.

An engine on this computer starts once the session is open: how it loads follows the run's options (a resumed
run keeps its image budget and caption length), and the records name its model file. Caption servers start
first: the records name the models they serve, which only they can say ("server" when they say none). A resume
keeps the run's own choices except what its ``ResumeChanges`` give; whether the run can still be resumed is
decided by ``resume_job`` alone, and the window's rows of a run that cannot be any more (forgotten, or taken up
elsewhere) start a new run with the window's choices instead (``Resume.otherwise``).

The faces only start their engine their own way (``OnThisComputer``, ``OnServers``) and show what they get.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.options import ExistingChoice, JobOptions, MetadataMode
from caprl_desktop.core.jobs.scheduler import CaptionEngine
from caprl_desktop.core.jobs.session import JobSession, NothingToResumeError, resume_job, start_job
from caprl_desktop.core.settings import CaptionSettings

SERVED_UNKNOWN = "server"  # how records name the model of servers that did not say which they serve


@dataclass(frozen=True)
class ResumeChanges:
    """What a resume changes in the run's recorded options; None keeps the run's own value.

    The sampling and the metadata choices are given on the command line; the caption folder there with
    ``--output-dir`` and in the window when the run's own folder could not be written. ``model_label`` is
    filled by ``open_run``: the records name the model that makes the captions from now on."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    caption_folder: Path | None = None
    metadata: MetadataMode | None = None
    metadata_existing: ExistingChoice | None = None
    model_label: str | None = None

    def apply(self, options: JobOptions) -> JobOptions:
        p = options.params
        params = dataclasses.replace(
            p,
            max_tokens=p.max_tokens if self.max_tokens is None else self.max_tokens,
            temperature=p.temperature if self.temperature is None else self.temperature,
            top_p=p.top_p if self.top_p is None else self.top_p,
            repeat_penalty=p.repeat_penalty if self.repeat_penalty is None else self.repeat_penalty,
            seed=p.seed if self.seed is None else self.seed,
        )
        return dataclasses.replace(
            options,
            params=params,
            caption_folder=options.caption_folder if self.caption_folder is None
            else str(self.caption_folder.absolute()),
            metadata=options.metadata if self.metadata is None else self.metadata,
            metadata_existing=options.metadata_existing if self.metadata_existing is None
            else self.metadata_existing,
            model_label=self.model_label or options.model_label,
        )


@dataclass(frozen=True)
class NewRun:
    """New images with the current choices; ``overwrite`` re-captions those that have a caption (this run)."""

    items: list[ImageItem]
    settings: CaptionSettings
    overwrite: bool = False


@dataclass(frozen=True)
class Resume:
    """The rest of recorded run ``job_id``, with its own options as ``changes`` leave them.

    ``only``: just these of its images (the window's rows). ``otherwise``: when the run cannot be resumed,
    start this instead (the window); without it, ``NothingToResumeError`` says why (the command line)."""

    job_id: int
    changes: ResumeChanges = ResumeChanges()
    only: tuple[Path, ...] | None = None
    otherwise: NewRun | None = None


class ServedEngine(CaptionEngine, Protocol):
    """Caption servers: what they serve is known once they have started."""

    @property
    def info(self) -> RemoteInfo | None: ...


@dataclass(frozen=True)
class OnThisComputer:
    """The engine on this computer: ``start`` loads ``model_path`` as the run's options need, once the session
    holds the run (a ``with`` block: the command line closes it after the run, the window keeps it)."""

    model_path: Path
    start: Callable[[JobOptions], AbstractContextManager[CaptionEngine]]


@dataclass(frozen=True)
class OnServers:
    """Caption servers: ``start`` reaches them before the session, so the records name what they serve."""

    start: Callable[[], AbstractContextManager[ServedEngine]]


EngineStart = OnThisComputer | OnServers


@dataclass(frozen=True)
class OpenRun:
    session: JobSession
    engine: CaptionEngine


def served_label(engine: ServedEngine) -> str:
    """How records name the model of a run on servers."""
    return engine.info.model_label if engine.info is not None else SERVED_UNKNOWN


@contextlib.contextmanager
def open_run(journal: Journal, run: NewRun | Resume, engine: EngineStart, *, holder: str,
             opened: Callable[[JobSession], None] | None = None) -> Iterator[OpenRun]:
    """Hold ``run``'s folders and its engine for the ``with`` block; see the module docstring.

    ``opened`` is told the session as soon as it holds the run (before an engine on this computer loads):
    the window marks its rows, the command line says what it resumes. Raises what ``start_job``,
    ``resume_job`` and the engine's ``start`` raise."""
    with contextlib.ExitStack() as stack:
        if isinstance(engine, OnServers):
            served = stack.enter_context(engine.start())
            session = _enter_session(stack, journal, run, served_label(served), holder)
            if opened is not None:
                opened(session)
            yield OpenRun(session, served)
            return
        session = _enter_session(stack, journal, run, engine.model_path.name, holder)
        if opened is not None:
            opened(session)
        local = stack.enter_context(engine.start(session.options))
        yield OpenRun(session, local)


def _enter_session(stack: contextlib.ExitStack, journal: Journal, run: NewRun | Resume, label: str,
                   holder: str) -> JobSession:
    if isinstance(run, Resume):
        changes = dataclasses.replace(run.changes, model_label=label)
        try:
            return stack.enter_context(resume_job(journal, run.job_id, holder=holder, only=run.only,
                                                  change=changes.apply))
        except NothingToResumeError:
            if run.otherwise is None:
                raise
            run = run.otherwise  # (raised before the session held anything: nothing to undo)
    options = run.settings.job_options(label, overwrite=run.overwrite)
    return stack.enter_context(start_job(journal, run.items, options, holder=holder))
