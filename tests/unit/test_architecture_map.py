"""docs/architecture.md is the map of the code: every subpackage of the core is on it."""

from __future__ import annotations

from pathlib import Path

import caprl_desktop.core
from tests.support.cli import REPO

CORE = Path(caprl_desktop.core.__file__).parent


def test_every_core_subpackage_is_named_in_the_map() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    subpackages = sorted(str(init.parent.relative_to(CORE)) + "/" for init in CORE.rglob("__init__.py")
                         if init.parent != CORE)
    assert "engine/remote/" in subpackages  # (the walk finds nested ones)
    assert [name for name in subpackages if name not in text] == []
