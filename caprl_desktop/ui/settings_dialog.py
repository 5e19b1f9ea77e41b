"""Settings: image detail, caption length, sampling, GPU layers, threads, captions at a time, starting when images
are added, where captions go, idle unload, language, and which engine makes the captions.

Everyday choices are on the first page; this computer or caption servers on "Engine" (``EnginePage``); what
only tuning needs (sampling, seed, GPU layers, threads, captions at a time, unloading) on "Advanced". GPU
layers are not offered when the loaded build has no GPU support.

The dialog edits ``AppSettings`` only when OK is pressed; the window reads the settings for each new job,
so a change applies to the next image queued. The interface language applies at the next start.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core import integration
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.params import IMAGE_BUDGET_PRESETS, default_threads
from caprl_desktop.ui.engine_page import EnginePage
from caprl_desktop.ui.settings import MAX_TEMPERATURE, AppSettings

MAX_SEED = 2**31 - 1


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None, *, gpu: bool | None = None) -> None:
        """``gpu``: whether the llama.cpp build in use can offload to a GPU (None: not known yet)."""
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle(self.tr("Settings — CapRL Desktop"))
        form = QFormLayout()  # everyday
        advanced = QFormLayout()

        self.detail = QComboBox()
        names = {"fast": self.tr("Fast"), "balanced": self.tr("Balanced"), "max": self.tr("Maximum")}
        for key, tokens in IMAGE_BUDGET_PRESETS.items():
            self.detail.addItem(self.tr("{} (up to {} image tokens)").format(names.get(key, key), tokens), key)
        self.detail.setToolTip(self.tr("How finely the image is looked at. Maximum reads small print in documents "
                                       "and charts best; Fast is several times quicker on a CPU."))
        form.addRow(self.tr("Image detail"), self.detail)

        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 8192)
        self.max_tokens.setSingleStep(64)
        self.max_tokens.setSuffix(self.tr(" tokens"))
        form.addRow(self.tr("Longest caption"), self.max_tokens)

        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, MAX_TEMPERATURE)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setToolTip(self.tr("1.0 is what CapRL models were trained with; 0 always picks the most "
                                            "likely word."))
        advanced.addRow(self.tr("Temperature"), self.temperature)

        self.seed = QSpinBox()
        self.seed.setRange(-1, MAX_SEED)
        self.seed.setSpecialValueText(self.tr("Random"))
        self.seed.setToolTip(self.tr("A fixed seed gives the same caption for the same image and settings."))
        advanced.addRow(self.tr("Seed"), self.seed)

        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText(self.tr("All (when a GPU is used)"))
        self.gpu_layers.setToolTip(self.tr("Layers of the model put on the GPU; 0 runs on the CPU. Fewer layers "
                                           "need less GPU memory."))
        advanced.addRow(self.tr("GPU layers"), self.gpu_layers)

        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText(self.tr("Automatic ({})").format(default_threads()))
        advanced.addRow(self.tr("CPU threads"), self.threads)

        self.parallel = QSpinBox()
        self.parallel.setRange(0, 64)
        self.parallel.setSpecialValueText(self.tr("Automatic"))
        self.parallel.setToolTip(self.tr("Captions made side by side in a folder. They share each pass over the "
                                         "model, so more at a time finish more images per minute, each a little "
                                         "slower. Automatic fits the number to the GPU or CPU and free memory."))
        advanced.addRow(self.tr("Captions at a time"), self.parallel)

        self.start_when_added = QCheckBox(self.tr("Start captioning as soon as images are added"))
        self.start_when_added.setToolTip(self.tr("Off: images dropped or opened wait for Start (F5), so the "
                                                 "caption language and prompt can be chosen first. Images sent "
                                                 "from the file manager are always captioned at once."))
        form.addRow(self.tr("New images"), self.start_when_added)

        self.overwrite = QComboBox()
        self.overwrite.addItem(self.tr("Skip images that already have a caption"), False)
        self.overwrite.addItem(self.tr("Caption them again and replace the caption"), True)
        form.addRow(self.tr("Existing captions"), self.overwrite)

        self.metadata = QComboBox()
        self.metadata.addItem(self.tr("Only in the .txt caption files"), "off")
        self.metadata.addItem(self.tr("Also inside the images (XMP, IPTC, EXIF)"), "embed")
        self.metadata.addItem(self.tr("Also in XMP sidecar files (photo.xmp)"), "xmp")
        self.metadata.setToolTip(self.tr("Photo managers (Lightroom, digiKam, Explorer, Finder) read a description "
                                         "inside the image or in its .xmp file. The image data is never changed; "
                                         "types that cannot hold one get the .xmp file."))
        form.addRow(self.tr("Descriptions"), self.metadata)
        # The choice applies to captions made (and edited) from now on; those on disk already are one action away.
        self.metadata_hint = QLabel(self.tr("For new captions and edits. For captions already made: Caption → "
                                            "Write descriptions into the images."))
        self.metadata_hint.setObjectName("metadataHint")
        self.metadata_hint.setWordWrap(True)
        self.metadata_hint.setEnabled(False)  # greyed: an explanation, not a choice
        form.addRow("", self.metadata_hint)
        self.metadata_existing = QComboBox()
        self.metadata_existing.addItem(self.tr("Keep a description someone else wrote"), "keep")
        self.metadata_existing.addItem(self.tr("Replace it (`caprl-desktop metadata restore` puts it back)"),
                                       "replace")
        form.addRow(self.tr("Their descriptions"), self.metadata_existing)

        self.caption_folder = QLineEdit()
        self.caption_folder.setPlaceholderText(self.tr("Beside the images"))
        self.caption_folder.setClearButtonEnabled(True)
        self.caption_folder.setToolTip(self.tr("Leave empty to save each caption as a .txt file beside its image. "
                                               "A folder here keeps the captions apart (for read-only disks): "
                                               "one subfolder for each folder captioned."))
        choose = QPushButton(self.tr("Choose…"))
        choose.clicked.connect(self._choose_caption_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.caption_folder, 1)
        folder_row.addWidget(choose)
        form.addRow(self.tr("Save captions"), folder_row)

        self.idle_unload = QSpinBox()
        self.idle_unload.setRange(0, 24 * 60)
        self.idle_unload.setSuffix(self.tr(" min"))
        self.idle_unload.setSpecialValueText(self.tr("Never"))
        self.idle_unload.setToolTip(self.tr("Free the model's memory when nothing has been captioned for this "
                                            "long; it loads again for the next image."))
        advanced.addRow(self.tr("Unload the model after"), self.idle_unload)

        self.file_manager = QCheckBox(self.tr("Show “Caption with CapRL” when right-clicking folders and images"))
        self.file_manager.setToolTip(self.tr("In Explorer, Finder, Nautilus, Dolphin and Nemo, for you only; "
                                             "the same as `caprl-desktop integrate install`."))
        self._integration = integration.current_plan()
        self.file_manager.setChecked(integration.status(self._integration) == "installed")
        form.addRow(self.tr("File manager"), self.file_manager)

        self.interface_language = QComboBox()
        self.interface_language.addItem(self.tr("System language"), "system")
        self.interface_language.addItem("English", "en")
        self.interface_language.addItem("日本語", "ja")
        form.addRow(self.tr("Interface language"), self.interface_language)
        note = QLabel(self.tr("The interface language changes the next time CapRL Desktop starts. The caption "
                              "language is chosen in the main window."))
        note.setWordWrap(True)
        note.setEnabled(False)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        restore = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.clicked.connect(self.restore_defaults)
        if gpu is False:
            advanced.setRowVisible(self.gpu_layers, False)
        everyday_page = QWidget()
        everyday_layout = QVBoxLayout(everyday_page)
        everyday_layout.addLayout(form)
        everyday_layout.addWidget(note)
        everyday_layout.addStretch(1)
        advanced_page = QWidget()
        advanced_layout = QVBoxLayout(advanced_page)
        advanced_layout.addLayout(advanced)
        advanced_layout.addStretch(1)
        self.engine_page = EnginePage(settings)
        self.pages = QTabWidget()
        self.pages.addTab(everyday_page, self.tr("Captions"))
        self.pages.addTab(self.engine_page, self.tr("Engine"))
        self.pages.addTab(advanced_page, self.tr("Advanced"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        layout.addWidget(buttons)
        self.load(settings)

    def load(self, settings: AppSettings) -> None:
        self.detail.setCurrentIndex(max(0, self.detail.findData(settings.detail)))
        self.max_tokens.setValue(settings.max_tokens)
        self.temperature.setValue(settings.temperature)
        self.seed.setValue(-1 if settings.seed is None else settings.seed)
        self.gpu_layers.setValue(-1 if settings.gpu_layers is None else settings.gpu_layers)
        self.threads.setValue(settings.threads or 0)
        self.parallel.setValue(settings.parallel or 0)
        self.overwrite.setCurrentIndex(1 if settings.overwrite else 0)
        self.metadata.setCurrentIndex(max(0, self.metadata.findData(settings.metadata)))
        self.metadata_existing.setCurrentIndex(max(0, self.metadata_existing.findData(settings.metadata_existing)))
        self.start_when_added.setChecked(settings.start_when_added)
        self.idle_unload.setValue(settings.idle_unload_minutes)
        self.caption_folder.setText(settings.caption_folder)
        self.interface_language.setCurrentIndex(max(0, self.interface_language.findData(
            settings.interface_language)))

    def restore_defaults(self) -> None:
        """Every engine and caption setting back to its default; the interface language stays."""
        default = AppSettings.default
        self.detail.setCurrentIndex(max(0, self.detail.findData(default("detail"))))
        self.max_tokens.setValue(default("max_tokens"))
        self.temperature.setValue(default("temperature"))
        self.seed.setValue(-1)
        self.gpu_layers.setValue(-1)
        self.threads.setValue(0)
        self.parallel.setValue(0)
        self.overwrite.setCurrentIndex(1 if default("overwrite") else 0)
        self.metadata.setCurrentIndex(max(0, self.metadata.findData(default("metadata"))))
        self.metadata_existing.setCurrentIndex(max(0, self.metadata_existing.findData(default("metadata_existing"))))
        self.start_when_added.setChecked(default("start_when_added"))
        self.idle_unload.setValue(default("idle_unload_minutes"))
        self.caption_folder.clear()
        self.engine_page.this_computer.setChecked(True)

    def _apply_integration(self) -> None:
        installed = integration.status(self._integration) == "installed"
        try:
            if self.file_manager.isChecked() and not installed:
                integration.install(self._integration)
            elif not self.file_manager.isChecked() and installed:
                integration.uninstall(self._integration)
        except CaprlError as exc:
            QMessageBox.warning(self, self.tr("File manager"), str(exc))

    def _choose_caption_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Save captions in"), self.caption_folder.text())
        if chosen:
            self.caption_folder.setText(chosen)

    def accept(self) -> None:
        if not self.engine_page.agreed():
            self.pages.setCurrentWidget(self.engine_page)
            return
        s = self.settings
        s.engine_servers = self.engine_page.ticked()
        s.detail = self.detail.currentData()
        s.max_tokens = self.max_tokens.value()
        s.temperature = round(self.temperature.value(), 2)
        s.seed = None if self.seed.value() < 0 else self.seed.value()
        s.gpu_layers = None if self.gpu_layers.value() < 0 else self.gpu_layers.value()
        s.threads = self.threads.value() or None
        s.parallel = self.parallel.value() or None
        s.overwrite = bool(self.overwrite.currentData())
        s.metadata = self.metadata.currentData()
        s.metadata_existing = self.metadata_existing.currentData()
        s.start_when_added = self.start_when_added.isChecked()
        s.idle_unload_minutes = self.idle_unload.value()
        s.caption_folder = self.caption_folder.text().strip()
        s.interface_language = self.interface_language.currentData()
        s.sync()
        self._apply_integration()
        super().accept()
