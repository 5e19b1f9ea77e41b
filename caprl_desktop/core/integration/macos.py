"""macOS: a Finder Quick Action, "Caption with CapRL", as an Automator workflow in ``~/Library/Services``.

The workflow is one "Run Shell Script" action that receives the selected folders and images as
arguments (``inputMethod`` 1) and passes them on with ``"$@"``: names are never read as shell text.
Files dropped on the Dock icon reach the app as open events (handled by the window).
"""

from __future__ import annotations

import plistlib
from pathlib import Path

from caprl_desktop.core.integration.plan import LABELS, FileEntry, Plan, shell_line


def services_dir() -> Path:
    return Path.home() / "Library" / "Services"


def shell_command(launcher: list[str]) -> str:
    return "exec " + shell_line(launcher, '"$@"')


def plan(launcher: list[str], language: str) -> Plan:
    label = LABELS.get(language, LABELS["en"])
    bundle = services_dir() / f"{label}.workflow"
    info = {
        "CFBundleName": label,
        "CFBundleIdentifier": "io.github.caprl-desktop.caption",
        "NSServices": [{
            "NSMenuItem": {"default": label},
            "NSMessage": "runWorkflowAsService",
            "NSRequiredContext": {"NSApplicationIdentifier": "com.apple.finder"},
            "NSSendFileTypes": ["public.folder", "public.image"],
        }],
    }
    document = {
        "AMApplicationBuild": "523",
        "AMApplicationVersion": "2.10",
        "AMDocumentVersion": "2",
        "actions": [{"action": {
            "AMAccepts": {"Container": "List", "Optional": True, "Types": ["com.apple.cocoa.path"]},
            "AMActionVersion": "2.0.3",
            "AMApplication": ["Automator"],
            "AMParameterProperties": {"COMMAND_STRING": {}, "CheckedForUserDefaultShell": {}, "inputMethod": {},
                                      "shell": {}, "source": {}},
            "AMProvides": {"Container": "List", "Types": ["com.apple.cocoa.string"]},
            "ActionBundlePath": "/System/Library/Automator/Run Shell Script.action",
            "ActionName": "Run Shell Script",
            "ActionParameters": {
                "COMMAND_STRING": shell_command(launcher),
                "CheckedForUserDefaultShell": True,
                "inputMethod": 1,  # as arguments, not on standard input
                "shell": "/bin/sh",
                "source": "",
            },
            "BundleIdentifier": "com.apple.RunShellScript",
            "CFBundleVersion": "2.0.3",
            "CanShowSelectedItemsWhenRun": False,
            "CanShowWhenRun": True,
            "Category": ["AMCategoryUtilities"],
            "Class Name": "RunShellScriptAction",
            "InputUUID": "3B3E7D0A-9C1E-4E47-9E55-2C1A4B6B1F01",
            "Keywords": ["Shell", "Script", "Command", "Run", "Unix"],
            "OutputUUID": "6F1B0C2D-5A3E-4C1F-8D2B-7E9A0B1C2D03",
            "UUID": "0A7C9E21-4B5D-4F6E-8A9B-1C2D3E4F5A06",
            "isViewVisible": True,
        }}],
        "connectors": {},
        "workflowMetaData": {
            "serviceInputTypeIdentifier": "com.apple.Automator.fileSystemObject",
            "serviceOutputTypeIdentifier": "com.apple.Automator.nothing",
            "serviceProcessesInput": 0,
            "workflowTypeIdentifier": "com.apple.Automator.servicesMenu",
        },
    }
    files = (
        FileEntry(bundle / "Contents" / "Info.plist", plistlib.dumps(info)),
        FileEntry(bundle / "Contents" / "document.wflow", plistlib.dumps(document)),
    )
    return Plan("macos", files, folders=(bundle,), notes=(
        f'Finder: right-click a folder or images → Quick Actions → "{label}" (or Services)',
    ))
