"""Settings → Engine: captions made on this computer, or by caption servers the user saved.

The servers are the list ``caprl-desktop engines`` keeps (adding and removing here changes it at once, as the
command does); which of them a run uses is a window setting (``AppSettings.engine_servers``), applied with the
dialog's OK; a server removed here leaves that setting at once too. "Check" asks every server at once whether
it answers, on a pool thread of the application's: closing the dialog never waits for a server that hangs, and
an answer that comes after it closed is dropped. Images never go to a server that is not ticked here, and one
that would get them unencrypted over a network is agreed to first (``consent``).
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.engine.remote import consent, saved
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.engine.remote.wire import ask_server
from caprl_desktop.ui.disk_captions import DiskReader
from caprl_desktop.ui.server_dialog import ServerDialog
from caprl_desktop.ui.settings import AppSettings

NAME_ROLE = Qt.ItemDataRole.UserRole


_checker: DiskReader | None = None


def _check_reader() -> DiskReader:
    """One pool for every dialog's checks, owned by the application (a dialog may close before its answers)."""
    global _checker
    if _checker is None or not shiboken6.isValid(_checker):
        _checker = DiskReader(QCoreApplication.instance())
    return _checker


def wait_for_checks() -> None:
    """Before the app ends: a check still asking a server is let finish (10 s at most), so that no pool thread
    runs Python while the interpreter shuts down."""
    if _checker is not None and shiboken6.isValid(_checker):
        _checker.wait()


class EnginePage(QWidget):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self.edited = False  # servers were added or removed here (whatever button closes the dialog)
        chosen = settings.engine_servers
        self.this_computer = QRadioButton(self.tr("This computer, with the CapRL model installed here"))
        self.on_servers = QRadioButton(self.tr("Caption servers (vLLM, llama.cpp's server, LM Studio)"))
        self.on_servers.setObjectName("onServers")
        group = QButtonGroup(self)
        group.addButton(self.this_computer)
        group.addButton(self.on_servers)
        self.servers = QListWidget()
        self.servers.setObjectName("serverList")
        self.add_button = QPushButton(self.tr("Add…"))
        self.add_button.setObjectName("addServer")
        self.add_button.clicked.connect(self.add_server)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self.remove_selected)
        self.check_button = QPushButton(self.tr("Check"))
        self.check_button.setToolTip(self.tr("Ask each server whether it answers, and which model it serves"))
        self.check_button.clicked.connect(self.check)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.check_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        note = QLabel(self.tr("Images are sent only to the servers ticked here, scaled to the image detail chosen; "
                              "a folder is spread over all of them. API keys stay in an environment variable or "
                              "the system keyring."))
        note.setWordWrap(True)
        note.setEnabled(False)
        # What to run on the other computer, said here: a packaged app has no docs folder to point to.
        self.how_to = QLabel(self.tr(
            "On the other computer, run an OpenAI-compatible server with the CapRL model and its vision projector, "
            "e.g. llama.cpp's <code>llama-server -m CapRL-3B.Q4_K_M.gguf --mmproj CapRL-3B.mmproj-Q8_0.gguf "
            "--host 0.0.0.0 --port 8080 --parallel 4</code>, vLLM's <code>vllm serve internlm/CapRL-3B</code>, "
            "or LM Studio's server; then add its address here (e.g. http://gpu-box:8080/v1)."))
        self.how_to.setObjectName("serverHowTo")
        self.how_to.setWordWrap(True)
        self.how_to.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.this_computer)
        layout.addWidget(self.on_servers)
        layout.addWidget(self.servers, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.how_to)
        layout.addWidget(note)
        self.on_servers.toggled.connect(self._enable)
        self.fill(chosen)
        (self.on_servers if chosen else self.this_computer).setChecked(True)
        self._enable()

    def fill(self, ticked: tuple[str, ...]) -> None:
        self.servers.clear()
        for name, server in saved.load().items():
            item = QListWidgetItem(self._line(name, server))
            item.setData(NAME_ROLE, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
            self.servers.addItem(item)

    def _line(self, name: str, server: Server) -> str:
        at_a_time = self.tr("{} at a time").format(server.slots) if server.slots_given else \
            self.tr("captions at a time found out")
        parts = [name, server.shown, at_a_time]
        if server.key_source:
            parts.append(server.key_source)
        return " · ".join(parts)

    def _enable(self) -> None:
        on = self.on_servers.isChecked()
        for widget in (self.servers, self.remove_button, self.check_button):
            widget.setEnabled(on)

    def ticked(self) -> tuple[str, ...]:
        """The servers chosen, in the list's order; () for this computer."""
        if not self.on_servers.isChecked():
            return ()
        items = (self.servers.item(row) for row in range(self.servers.count()))
        return tuple(item.data(NAME_ROLE) for item in items if item.checkState() == Qt.CheckState.Checked)

    def add_server(self) -> None:
        dialog = ServerDialog(self)
        accepted = dialog.exec() == ServerDialog.DialogCode.Accepted
        server = dialog.server
        dialog.deleteLater()  # (not before: deleted inside its own ``exec``, it would end as rejected)
        if not accepted or server is None:
            return
        self.edited = True
        name = server.name
        self.fill((*self.ticked(), name))  # a server just added is meant to be used
        self.on_servers.setChecked(True)

    def remove_selected(self) -> None:
        row = self.servers.currentRow()
        if row < 0:
            return
        name = self.servers.item(row).data(NAME_ROLE)
        saved.remove(name)
        self.edited = True
        # Gone from the saved list now, so from the choice now too, whatever button closes the dialog.
        self._settings.engine_servers = tuple(n for n in self._settings.engine_servers if n != name)
        self._settings.sync()
        self.fill(tuple(n for n in self.ticked() if n != name))

    def check(self) -> None:
        """Whether each server answers, off the GUI thread (a server that hangs takes up to 10 s)."""
        servers = saved.load()
        self.check_button.setEnabled(False)

        def ask() -> dict[str, tuple[str, str]]:
            from concurrent.futures import ThreadPoolExecutor

            if not servers:
                return {}
            with ThreadPoolExecutor(max_workers=min(16, len(servers))) as pool:  # one that hangs holds up none
                return dict(zip(servers, pool.map(ask_server, servers.values()), strict=True))

        _check_reader().run(ask, self._answered)

    def _answered(self, answers: dict[str, tuple[str, str]]) -> None:
        if not shiboken6.isValid(self):
            return  # the dialog closed before the servers answered
        self.check_button.setEnabled(self.on_servers.isChecked())
        for row in range(self.servers.count()):
            item = self.servers.item(row)
            found = answers.get(item.data(NAME_ROLE))
            if found is not None:
                model, reason = found
                answer = self.tr("does not answer: {}").format(reason) if reason else \
                    self.tr("answers, serving {}").format(model or "?")
                item.setToolTip(answer)
                item.setText(item.text().split("\n")[0] + "\n" + answer)  # its own line, under the server

    def agreed(self) -> bool:
        """Whether the servers ticked may be used: none ticked is refused, and each that would get images
        unencrypted over a network is asked about once (remembered)."""
        names = self.ticked()
        if self.on_servers.isChecked() and not names:
            QMessageBox.warning(self, self.tr("Caption servers"), self.tr("Tick the servers to caption with, or "
                                                                          "choose this computer."))
            return False
        servers = saved.load()
        for server, warning in consent.unwarned(servers[n] for n in names if n in servers):
            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Send images unencrypted?"),
                              self.tr("Send images to {} without encryption?").format(server.label),
                              QMessageBox.StandardButton.NoButton, self)
            box.setInformativeText(warning + ".\n\n" + self.tr(
                "This is asked once for each server. HTTPS, or an SSH tunnel to the server, keeps them private."))
            send = box.addButton(self.tr("Send to it"), QMessageBox.ButtonRole.AcceptRole)
            keep = box.addButton(self.tr("Don't send"), QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(keep)
            box.setEscapeButton(keep)
            box.exec()
            if box.clickedButton() is not send:
                return False
            consent.remember([server])
        return True
