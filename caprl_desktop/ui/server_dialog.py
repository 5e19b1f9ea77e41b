"""Adding a caption server: its name, address, captions at a time, API key and certificates.

What the dialog saves goes into the same list as ``caprl-desktop engines add`` (``core.engine.remote.saved``);
a key typed here goes to the OS keyring, never into a file of the app's. A server that would get images
unencrypted over a network says so under its address as it is typed.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.engine.remote import saved
from caprl_desktop.core.engine.remote.servers import MAX_SLOTS, Server, parse_server, plain_http_warning
from caprl_desktop.core.errors import CaprlError

NO_KEY, ENV_KEY, KEYRING_KEY = "none", "env", "keyring"


class ServerDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add a caption server"))
        self.setMinimumWidth(560)  # an address and its warning on few lines
        self.server: Server | None = None  # what was saved, once OK succeeded
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("serverName")
        self.name.setPlaceholderText("gpu-box")
        form.addRow(self.tr("Name"), self.name)
        self.address = QLineEdit()
        self.address.setObjectName("serverAddress")
        self.address.setPlaceholderText("http://gpu-box:8000/v1")
        self.address.setToolTip(self.tr("The OpenAI-compatible API of vLLM, llama.cpp's llama-server or LM Studio."))
        self.address.textChanged.connect(self._show_warning)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.hide()
        # Under the address, in the same cell: a row of its own would keep its label's height once it is hidden.
        address_cell = QVBoxLayout()
        address_cell.setContentsMargins(0, 0, 0, 0)
        address_cell.addWidget(self.address)
        address_cell.addWidget(self.warning)
        form.addRow(self.tr("Address"), address_cell)
        self.slots = QSpinBox()
        self.slots.setRange(0, MAX_SLOTS)
        self.slots.setSpecialValueText(self.tr("Find out"))
        self.slots.setValue(0)
        self.slots.setToolTip(self.tr("What the server is set up for: vLLM's --max-num-seqs, llama-server's "
                                      "--parallel. “Find out” asks llama-server, and measures the others from "
                                      "their first replies."))
        form.addRow(self.tr("Captions at a time"), self.slots)
        self.key_kind = QComboBox()
        self.key_kind.addItem(self.tr("No API key"), NO_KEY)
        self.key_kind.addItem(self.tr("From an environment variable"), ENV_KEY)
        self.key_kind.addItem(self.tr("Kept in the system keyring"), KEYRING_KEY)
        self.key_kind.currentIndexChanged.connect(self._show_key_field)
        form.addRow(self.tr("API key"), self.key_kind)
        self.key = QLineEdit()
        self.key.setObjectName("serverKey")
        form.addRow("", self.key)
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText(self.tr("Only the system's certificate authorities"))
        self.ca_file.setToolTip(self.tr("For a server whose HTTPS certificate comes from a private certificate "
                                        "authority: that authority's certificate (PEM)."))
        choose = QPushButton(self.tr("Choose…"))
        choose.clicked.connect(self._choose_ca_file)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(choose)
        form.addRow(self.tr("Certificates"), ca_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._show_key_field()

    def _show_key_field(self) -> None:
        kind = self.key_kind.currentData()
        self.key.setVisible(kind != NO_KEY)
        self.key.clear()
        # A variable's name shows while typed only: a key pasted into that field is not left on the screen.
        self.key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit if kind == ENV_KEY
                             else QLineEdit.EchoMode.Password)
        if kind == ENV_KEY:
            self.key.setPlaceholderText(self.tr("The variable's name, e.g. GPU_BOX_KEY"))
        else:
            self.key.setPlaceholderText(self.tr("The key (kept in the keyring, not in CapRL Desktop's files)"))

    def _show_warning(self) -> None:
        try:
            server: Server | None = parse_server(self.address.text())
        except CaprlError:
            server = None
        plain = server is not None and plain_http_warning(server) is not None
        self.warning.setText(self.tr("Not encrypted: {} is another computer reached over plain http, so the images, "
                                     "captions and any API key sent to it can be read on the network on their way.")
                             .format(server.shown) if server is not None and plain else "")
        self.warning.setVisible(plain)
        # The dialog takes the warning's lines, and gives them back once it goes (not a gap where it was).
        layout = self.layout()
        if layout is not None:
            layout.activate()
            self.resize(self.width(), self.heightForWidth(self.width()))

    def _choose_ca_file(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, self.tr("Certificate authority"), self.ca_file.text(),
                                                self.tr("Certificates (*.pem *.crt *.cer);;All files (*)"))
        if chosen:
            self.ca_file.setText(chosen)

    def accept(self) -> None:
        kind = self.key_kind.currentData()
        key = self.key.text().strip()
        try:
            if kind != NO_KEY and not key:
                raise CaprlError(self.tr("Give the API key, or choose “No API key”."))
            if kind == ENV_KEY and not os.environ.get(key):
                # Never the text itself in the message: it may be the key, typed in the wrong field.
                raise CaprlError(self.tr("No environment variable of that name is set for CapRL Desktop. Give the "
                                         "name of the variable that holds the key (set where CapRL Desktop is "
                                         "started), or choose “Kept in the system keyring”."))
            address = self.address.text().strip()
            if "#" not in address and self.slots.value():  # (an address with #N says it itself)
                address += f"#{self.slots.value()}"
            self.server = saved.add(self.name.text().strip(), address,
                                    key if kind == ENV_KEY else None,
                                    keyring_key=key if kind == KEYRING_KEY else None,
                                    ca_file=self.ca_file.text().strip() or None)
        except CaprlError as exc:
            QMessageBox.warning(self, self.tr("Add a caption server"), str(exc))
            return
        super().accept()
