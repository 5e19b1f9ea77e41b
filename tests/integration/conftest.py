"""Fixtures of the window's tests: the tiny model installed, and a shown window with its engine loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui import language
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.settings import AppSettings
from tests.support.gui import open_window
from tests.support.models import ModelFiles
from tests.support.models import installed as install


@pytest.fixture(autouse=True)
def english_data_texts() -> Iterator[None]:
    """A test that installs the Japanese interface leaves the app's language behind; the next starts in English."""
    yield
    app = QCoreApplication.instance()
    if app is not None:
        language.remember(app, "en")


@pytest.fixture
def installed(models: ModelFiles) -> ModelStore:
    store = install(models)
    settings = AppSettings()
    settings.max_tokens = 24
    settings.detail = "fast"
    settings.language = "en"
    settings.seed = 1234  # the random-weight model can sample an empty caption; a fixed seed keeps runs alike
    # Most window tests drop images and wait for captions; those about pressing Start turn this off.
    settings.start_when_added = True
    settings.sync()
    return store


@pytest.fixture
def window(qtbot: QtBot, installed: ModelStore) -> Iterator[MainWindow]:
    win = open_window(qtbot)
    yield win
    win.close()
