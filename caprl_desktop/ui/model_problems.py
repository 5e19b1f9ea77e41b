"""The core's hub and model-file problem kinds as sentences in the user's language.

The core raises English sentences for the command line and tags each with a kind (``HubProblem``,
``FileProblem``); the window says the kind in its own words here, once, for the model dialog and the
local-files dialog alike. The transport's own words (``detail``) go to a tooltip, never the sentence.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from caprl_desktop.core.models.files import FileProblem
from caprl_desktop.core.models.hub_problem import HubProblem

_CONTEXT = "ModelProblems"


def hub_problem_text(problem: HubProblem) -> str:
    """Why Hugging Face could not be used, in one sentence."""
    # Literal strings at each call: lupdate extracts only those, not a variable handed to translate().
    if problem is HubProblem.OFFLINE_MODE:
        return QCoreApplication.translate(_CONTEXT, "Offline mode is on (HF_HUB_OFFLINE), so Hugging Face was "
                                                    "not asked.")
    if problem is HubProblem.NO_CONNECTION:
        return QCoreApplication.translate(_CONTEXT, "Hugging Face cannot be reached: this computer seems to have "
                                                    "no internet connection.")
    if problem is HubProblem.TIMEOUT:
        return QCoreApplication.translate(_CONTEXT, "Hugging Face did not answer in time: the connection is slow "
                                                    "or interrupted.")
    if problem is HubProblem.NOT_THE_HUB:
        return QCoreApplication.translate(_CONTEXT, "Another page answered instead of Hugging Face: a Wi-Fi "
                                                    "sign-in page or a proxy, perhaps.")
    if problem is HubProblem.NOT_FOUND:
        return QCoreApplication.translate(_CONTEXT, "The model's files were not found on Hugging Face: they may "
                                                    "have been moved.")
    return QCoreApplication.translate(_CONTEXT, "Hugging Face answered with an error. Try again later.")


def file_problem_text(problem: FileProblem) -> str:
    """What is wrong with a model or projector file, in one sentence (the field it sits beside names the file)."""
    texts = {
        FileProblem.MISSING: QCoreApplication.translate(_CONTEXT, "This file does not exist."),
        FileProblem.FOLDER: QCoreApplication.translate(_CONTEXT, "This is a folder, not a GGUF file."),
        FileProblem.UNREADABLE: QCoreApplication.translate(_CONTEXT, "This file cannot be read."),
        FileProblem.EMPTY: QCoreApplication.translate(_CONTEXT, "This file is empty."),
        FileProblem.WEB_PAGE: QCoreApplication.translate(
            _CONTEXT, "This is a web page, probably an error page saved by a failed download, not a GGUF file."),
        FileProblem.LFS_POINTER: QCoreApplication.translate(
            _CONTEXT, "This is a Git LFS pointer, not the file itself."),
        FileProblem.SAFETENSORS: QCoreApplication.translate(
            _CONTEXT, "This is a safetensors file; a GGUF file is needed."),
        FileProblem.NOT_GGUF: QCoreApplication.translate(_CONTEXT, "This is not a GGUF file."),
        FileProblem.DAMAGED: QCoreApplication.translate(_CONTEXT, "This file is damaged. Download it again."),
        FileProblem.INCOMPLETE: QCoreApplication.translate(
            _CONTEXT, "This file is incomplete: its download was probably interrupted. Download it again."),
        FileProblem.SWAPPED: QCoreApplication.translate(
            _CONTEXT, "The model and the vision projector are swapped."),
        FileProblem.IS_PROJECTOR: QCoreApplication.translate(
            _CONTEXT, "This is a vision projector (mmproj), not the text model."),
        FileProblem.NOT_PROJECTOR: QCoreApplication.translate(
            _CONTEXT, "This is a text model, not a vision projector (mmproj)."),
        FileProblem.CANNOT_SEE: QCoreApplication.translate(
            _CONTEXT, "This model cannot see images. CapRL Desktop needs CapRL-3B (a Qwen2.5-VL model)."),
        FileProblem.NO_VISION_ENCODER: QCoreApplication.translate(
            _CONTEXT, "This projector has no vision encoder, so it cannot read images."),
        FileProblem.OTHER_MODEL: QCoreApplication.translate(
            _CONTEXT, "This projector belongs to another model. Use the mmproj file published with the model."),
    }
    return texts[problem]
