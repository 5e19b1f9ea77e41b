"""One window per user: a second launch hands its paths to the running window and exits.

The first window takes a lock file in the data folder and listens on a local socket (a named pipe on
Windows) whose name is derived from that folder, so it is per user.  A later launch finds the lock
taken, connects, sends its paths as JSON and waits for the window's "ok"; the model is never loaded
twice, and a right-click on ten images in Explorer (one launch each) fills one queue.  Paths travel as
data, made absolute first since the window's working folder is another one.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import filelock
from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from caprl_desktop.core import paths
from caprl_desktop.core.integration.windows_process import allow_foreground_handover

CONNECT_TIMEOUT_S = 10.0  # the first window may still be starting (it holds the lock before it listens)
REPLY_TIMEOUT_MS = 5000


def server_name() -> str:
    digest = hashlib.sha256(str(paths.data_dir().absolute()).encode("utf-8", "surrogateescape")).hexdigest()
    return f"caprl-desktop-{digest[:16]}"


class SingleInstance(QObject):
    pathsReceived = Signal(object)  # list[Path]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name()
        folder = paths.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(str(folder / "window.lock"), timeout=0)
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        """True when this is the first window; it then holds the lock until the process ends."""
        try:
            self._lock.acquire()
        except filelock.Timeout:
            return False
        return True

    def listen(self) -> bool:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self.name)  # a socket file left by a killed window; the lock says it is dead
        if not server.listen(self.name):
            return False
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def close(self) -> None:
        """Stop taking launches and let the next window be the first (the app ending does the same)."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        self._lock.release()

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.setParent(self)
            # A bound method, not a lambda: Qt drops the connection when this object goes.
            socket.readyRead.connect(self._read_sender)
            socket.disconnected.connect(socket.deleteLater)

    def _read_sender(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        line = bytes(socket.readLine().data())
        try:
            message = json.loads(line)
            received = [Path(p) for p in message["paths"]]
        except (ValueError, KeyError, TypeError):
            socket.write(b"error\n")
        else:
            socket.write(b"ok\n")
            self.pathsReceived.emit(received)
        socket.flush()
        socket.disconnectFromServer()

    def hand_over(self, arguments: list[str]) -> bool:
        """Send ``arguments`` (paths) to the running window; False when it cannot be reached."""
        message = json.dumps({"paths": [str(Path(a).absolute()) for a in arguments]}).encode() + b"\n"
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            socket = QLocalSocket()
            socket.connectToServer(self.name)
            if socket.waitForConnected(1000):
                break
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        allow_foreground_handover()
        socket.write(message)
        socket.waitForBytesWritten(REPLY_TIMEOUT_MS)
        while not socket.canReadLine():
            if not socket.waitForReadyRead(REPLY_TIMEOUT_MS):
                return False
        answer = bytes(socket.readLine().data())
        socket.disconnectFromServer()
        return answer.strip() == b"ok"
