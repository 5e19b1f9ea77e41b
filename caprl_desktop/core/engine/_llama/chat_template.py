"""Formats the system and user messages with the chat template stored in the GGUF.

The template is rendered the way Hugging Face's tokenizers render it (a sandboxed Jinja environment with
``trim_blocks`` and ``lstrip_blocks``).  The image travels as libmtmd's media marker inside the user's
text; libmtmd replaces the marker with the image tokens and wraps them in ``<|vision_start|>`` and
``<|vision_end|>`` itself.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import NoReturn

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from caprl_desktop.core.errors import ModelFileError

# Qwen's ChatML, for a GGUF that ships without a template.
FALLBACK_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _raise_exception(message: str) -> NoReturn:
    raise TemplateError(message)


@lru_cache(maxsize=4)
def _compile(template: str):  # type: ignore[no-untyped-def]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


def render_prompt(template: str | None, system: str, user: str, media_marker: str) -> str:
    """The full prompt text for one image: ``media_marker`` stands where the image goes, before the text."""
    messages = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": media_marker + user})
    try:
        return str(
            _compile(template or FALLBACK_TEMPLATE).render(
                messages=messages,
                add_generation_prompt=True,
                bos_token="",
                eos_token="<|im_end|>",
            )
        )
    except TemplateError as exc:
        raise ModelFileError(f"The model's chat template cannot be used: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the template is a downloaded file's: 1/0, huge ranges, deep recursion
        raise ModelFileError(f"The model's chat template cannot be used: {type(exc).__name__}: {exc}") from None
