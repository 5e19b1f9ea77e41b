"""The core's hub and model-file problem kinds as sentences in the user's language.

The core raises English sentences for the command line and tags each with a kind (``HubProblem``,
``FileProblem``); the window says the kind in its own words here, once, for the model dialog and the
local-files dialog alike. The transport's own words (``detail``) go to a tooltip, never the sentence.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from caprl_desktop.core.models.files import FileProblem
from caprl_desktop.core.models.hub_problem import HubProblem


def hub_problem_text(problem: HubProblem) -> str:
    """Why Hugging Face could not be used, in one sentence."""
    # A literal context and text at each call: lupdate extracts only those, never a variable's.
    texts = {
        HubProblem.OFFLINE_MODE: QCoreApplication.translate(
            "ModelProblems", "Offline mode is on (HF_HUB_OFFLINE), so Hugging Face was not asked."),
        HubProblem.NO_CONNECTION: QCoreApplication.translate(
            "ModelProblems", "Hugging Face cannot be reached: this computer seems to have no internet connection."),
        HubProblem.TIMEOUT: QCoreApplication.translate(
            "ModelProblems", "Hugging Face did not answer in time: the connection is slow or interrupted."),
        HubProblem.NOT_THE_HUB: QCoreApplication.translate(
            "ModelProblems",
            "Another page answered instead of Hugging Face: a Wi-Fi sign-in page or a proxy, perhaps."),
        HubProblem.NOT_FOUND: QCoreApplication.translate(
            "ModelProblems", "The model's files were not found on Hugging Face: they may have been moved."),
        HubProblem.HUB_ERROR: QCoreApplication.translate(
            "ModelProblems", "Hugging Face answered with an error. Try again later."),
    }
    return texts[problem]


def file_problem_text(problem: FileProblem) -> str:
    """What is wrong with a model or projector file, in one sentence (the field it sits beside names the file)."""
    texts = {
        FileProblem.MISSING: QCoreApplication.translate("ModelProblems", "This file does not exist."),
        FileProblem.FOLDER: QCoreApplication.translate("ModelProblems", "This is a folder, not a GGUF file."),
        FileProblem.UNREADABLE: QCoreApplication.translate("ModelProblems", "This file cannot be read."),
        FileProblem.EMPTY: QCoreApplication.translate("ModelProblems", "This file is empty."),
        FileProblem.WEB_PAGE: QCoreApplication.translate(
            "ModelProblems", "This is a web page, probably an error page saved by a failed download, not a GGUF file."),
        FileProblem.LFS_POINTER: QCoreApplication.translate(
            "ModelProblems", "This is a Git LFS pointer, not the file itself."),
        FileProblem.SAFETENSORS: QCoreApplication.translate(
            "ModelProblems", "This is a safetensors file; a GGUF file is needed."),
        FileProblem.NOT_GGUF: QCoreApplication.translate("ModelProblems", "This is not a GGUF file."),
        FileProblem.DAMAGED: QCoreApplication.translate("ModelProblems", "This file is damaged. Download it again."),
        FileProblem.INCOMPLETE: QCoreApplication.translate(
            "ModelProblems", "This file is incomplete: its download was probably interrupted. Download it again."),
        FileProblem.SWAPPED: QCoreApplication.translate(
            "ModelProblems", "The model and the vision projector are swapped."),
        FileProblem.IS_PROJECTOR: QCoreApplication.translate(
            "ModelProblems", "This is a vision projector (mmproj), not the text model."),
        FileProblem.NOT_PROJECTOR: QCoreApplication.translate(
            "ModelProblems", "This is a text model, not a vision projector (mmproj)."),
        FileProblem.CANNOT_SEE: QCoreApplication.translate(
            "ModelProblems", "This model cannot see images. CapRL Desktop needs a CapRL model (CapRL-3B, a "
                             "Qwen2.5-VL model, or CapRL 2.0, a Qwen3-VL model)."),
        FileProblem.NO_VISION_ENCODER: QCoreApplication.translate(
            "ModelProblems", "This projector has no vision encoder, so it cannot read images."),
        FileProblem.OTHER_MODEL: QCoreApplication.translate(
            "ModelProblems", "This projector belongs to another model. Use the mmproj file published with the model."),
    }
    return texts[problem]
