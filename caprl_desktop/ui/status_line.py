"""The status bar's standing parts: the model and where it runs (or the servers in use, each with its speed),
captioning speed, and the queue's progress."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from caprl_desktop.core.engine.remote.info import RemoteInfo, ServerStats
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.ui.formatting import duration_text
from caprl_desktop.ui.queue_controller import Progress


class StatusLine(QObject):
    """Puts its labels in ``bar``; ``get_model_button`` shows while no model is installed.

    Texts are short, so that they fit a 1000-pixel window in Japanese too; the details are in tooltips."""

    failedClicked = Signal()  # "1 failed" in the summary of a finished go

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.model_label = QLabel()
        self._servers_name = ""  # the servers in use, as the model label names them
        self.backend_label = QLabel()
        self.servers_label = QLabel()  # each server's share, while servers make the captions
        self.servers_label.setObjectName("serversLabel")
        self.speed_label = QLabel()
        self.progress_label = QLabel()
        self.progress_label.linkActivated.connect(lambda link: self.failedClicked.emit())
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self._progress: Progress | None = None  # the last told, shown again when the pause changes
        self._paused = False
        self.get_model_button = QPushButton(self.tr("Get a model…"))
        self.get_model_button.setObjectName("getModelButton")
        self.get_model_button.hide()
        bar.addWidget(self.model_label)
        bar.addWidget(self.get_model_button)
        bar.addWidget(self.backend_label, 1)
        # Permanent, so what a drop added (a message for a minute) does not hide how the servers are doing.
        bar.addPermanentWidget(self.servers_label)
        bar.addPermanentWidget(self.speed_label)
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress_bar)

    def show_model_available(self, available: bool) -> None:
        self.get_model_button.setVisible(not available)
        if not available:
            self.model_label.setText(self.tr("No model installed"))
            self.backend_label.clear()

    def show_loading(self) -> None:
        self.model_label.setText(self.tr("Loading the model…"))

    def show_unloaded(self) -> None:
        self.model_label.setText(self.tr("Model unloaded while idle; it loads again for the next image"))

    def show_failed(self, message: str) -> None:
        self.model_label.setText(self.tr("The model could not be loaded"))
        self.backend_label.setText(message)

    def show_engine(self, info: EngineInfo, name: str = "") -> None:
        """``name``: how the model is called ("CapRL-Qwen3VL-2B Q4_K_M"); its files are in the tooltip."""
        self.servers_label.clear()
        self.servers_label.setToolTip("")
        label = name or f"{info.model.model_path.name} · {info.model.mmproj_path.name}"
        if info.parallel > 1:
            label += " · " + self.tr("{} captions at a time").format(info.parallel)
        self.model_label.setText(label)
        self.model_label.setToolTip(f"{info.model.model_path}\n{info.model.mmproj_path}")
        if info.backend.note:  # a GPU build that could not start (no driver): the CPU build beside it runs
            self.backend_label.setText(self.tr("CPU (the GPU build could not start)"))
            self.backend_label.setToolTip(info.backend.note)
        elif not info.backend.gpu_offload:
            self.backend_label.setText(self.tr("CPU only"))
            self.backend_label.setToolTip(self.tr(
                "This build of llama.cpp has no GPU support, so captions are made on the processor. README, "
                "section \"GPU builds of llama-cpp-python\", says how to install the build for your GPU."))
        else:
            self.backend_label.setText(info.backend_line)
            self.backend_label.setToolTip(info.backend_line)
        # What the engine gave up on this machine (AMX kernels, GPU layers, captions at a time), with why.
        notes = [note for note in info.notes if note not in self.backend_label.toolTip()]
        if notes:
            self.backend_label.setToolTip("\n".join([self.backend_label.toolTip(), *notes]))

    def show_remote(self, info: RemoteInfo, name: str) -> None:
        """Servers make the captions: which, what they serve, how many captions they take at once."""
        self.servers_label.clear()  # (the figures of servers used before)
        self.servers_label.setToolTip("")
        self._servers_name = name
        self._show_servers_label(info.parallel)
        self.model_label.setToolTip(self.tr("Images are sent to these servers; nothing is captioned on this "
                                            "computer.") + "\n" + "\n".join(
            f"{s.label}: {s.shown} · {s.model or '?'}" if s.answering
            else f"{s.label}: {s.shown} · " + self.tr("not answering: {}").format(s.reason) for s in info.servers))
        models = ", ".join(info.models)
        self.backend_label.setText(models)
        self.backend_label.setToolTip(self.tr("The models the servers serve"))

    def _show_servers_label(self, parallel: int) -> None:
        label = self.tr("Servers: {}").format(self._servers_name)
        if parallel > 1:
            label += " · " + self.tr("{} captions at a time").format(parallel)
        self.model_label.setText(label)

    def show_servers(self, stats: list[ServerStats]) -> None:
        """Each server's share so far: "gpu-box: 12 done · 4.1 img/min · laptop: 3 done · 1.0 img/min" (or
        "gpu-box is slow (no reply for 40 s)" while its captions wait for it); the tooltip adds tokens/s,
        captions in flight and how many it takes at a time (and whether that is still being measured)."""
        parts = []
        tips = []
        for s in stats:
            name = s.label
            if s.in_rotation and s.slow:
                parts.append(self.tr("{} is slow (no reply for {} s)").format(name, round(s.silent_s)))
            elif s.in_rotation:
                parts.append(self.tr("{}: {} done · {:.1f} img/min").format(name, s.made, s.images_per_minute))
            else:
                parts.append(self.tr("{} left out").format(name))
            at_a_time = (self.tr("{} at a time, still measuring") if s.measuring else self.tr("{} at a time")) \
                .format(s.slots)
            tips.append(self.tr("{}: {} captions, {:.1f} images/min, {:.1f} tokens/s, {} in flight").format(
                name, s.made, s.images_per_minute, s.tokens_per_second, s.in_flight) + ", " + at_a_time
                + ("" if s.in_rotation else " · " + self.tr("left out: {}").format(s.reason)))
        self.servers_label.setText(" · ".join(parts))
        self.servers_label.setToolTip("\n".join(tips))
        # Captions at a time change as servers leave or rejoin the rotation and as their numbers are measured.
        self._show_servers_label(sum(s.slots for s in stats if s.in_rotation))

    def summary(self, progress: Progress) -> str:
        """"10 done · 1 failed · 3 skipped" (or "12 / 500 images · 1 failed" when it was stopped part way); the
        failed count is a link that shows just those."""
        if progress.done < progress.total:
            parts = [self.count_text(progress.done, progress.total)]
        else:
            parts = [self.tr("{} done").format(progress.captioned)]
        if progress.failed:
            parts.append('<a href="failed">' + self.tr("{} failed").format(progress.failed) + "</a>")
        if progress.skipped and progress.done == progress.total:
            parts.append(self.tr("{} skipped").format(progress.skipped))
        return " · ".join(parts)

    def count_text(self, done: int, total: int) -> str:
        """"3 / 10 images" ("0 / 1 image")."""
        return self.tr("{} / 1 image").format(done) if total == 1 else self.tr("{} / {} images").format(done, total)

    def show_speed(self, tokens_per_second: float) -> None:
        self.speed_label.setText(self.tr("{:.1f} tokens/s").format(tokens_per_second))

    def show_paused(self, paused: bool) -> None:
        """The user paused: the progress says so until Start (or anything else) goes on."""
        if paused != self._paused:
            self._paused = paused
            if self._progress is not None:
                self.show_progress(self._progress)

    def show_progress(self, progress: Progress) -> None:
        before = self._progress
        self._progress = progress
        # A new go's speed is its own; a go that made no caption leaves none (not the last go's).
        starting = progress.running and (before is None or not before.running)
        if starting or (not progress.running and before is not None and before.running and not progress.captioned):
            self.speed_label.clear()
        if not progress.running and not progress.done and not self._paused:
            self.progress_label.clear()
            self.progress_bar.hide()
            return
        if not progress.running:  # the go is over: what became of it
            summary = self.summary(progress)
            self.progress_label.setText(self.tr("Paused") + " · " + summary if self._paused else summary)
            self.progress_bar.hide()
            return
        total = max(progress.total, 1)
        done = min(progress.done, total)
        text = self.count_text(done, total)
        if progress.seconds_left is not None:
            text += self.tr(" · about {} left").format(duration_text(progress.seconds_left))
        self.progress_label.setText(text)
        self.progress_bar.setVisible(progress.running)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
