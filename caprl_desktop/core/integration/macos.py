"""macOS: a Finder Quick Action, "Caption with CapRL", as an Automator workflow in ``~/Library/Services``.

The workflow is one "Run Shell Script" action that receives the selected folders and images as
arguments (``inputMethod`` 1) and passes them on with ``"$@"``: names are never read as shell text.
Files dropped on the Dock icon reach the app as open events (handled by the window).

The action must return at once: while it runs, Finder's menu bar shows a spinning gear, and cancelling it
kills what it started. For the app bundle it runs ``open -b <bundle id> "$@"`` (macOS hands the paths to
the app, running or not, as open events); for an installation from pip it starts the window detached.
An app opened from Downloads or a disk image runs from a temporary copy (App Translocation), whose path
is gone after a restart: the Quick Action is not installed from there.

An installation from pip has no app in Applications: ``integrate install`` adds a small one,
``~/Applications/CapRL Desktop.app``, whose executable is a shell script that ``exec``s the launcher (so
the Dock shows the app's icon for the window's process). The app bundle built by packaging needs none.
"""

from __future__ import annotations

import plistlib
from pathlib import Path

from caprl_desktop.core.integration.plan import LABELS, FileEntry, Plan, shell_line


def services_dir() -> Path:
    return Path.home() / "Library" / "Services"


BUNDLE_ID = "io.github.caprl-desktop"  # as packaging/caprl-desktop.spec names the app


def app_bundle(executable: str) -> Path | None:
    """The ``.app`` the executable runs from, if any."""
    return next((parent for parent in Path(executable).parents if parent.suffix == ".app"), None)


def translocated(bundle: Path) -> bool:
    return "/AppTranslocation/" in bundle.as_posix()


def shell_command(launcher: list[str]) -> str:
    if app_bundle(launcher[0]) is not None:
        return f'open -b {BUNDLE_ID} "$@"'
    return "nohup " + shell_line(launcher, '"$@"') + " >/dev/null 2>&1 &"


APP_NAME = "CapRL Desktop"
LAUNCHER_ID = "io.github.caprl-desktop.launcher"  # not the bundle's: `open -b` must find the real app only


def applications_dir() -> Path:
    return Path.home() / "Applications"


def launcher_app(launcher: list[str], version: str, icns: Path | None) -> tuple[Path, tuple[FileEntry, ...]]:
    """``~/Applications/CapRL Desktop.app`` for an installation from pip: Launchpad, Spotlight and the Dock."""
    app = applications_dir() / f"{APP_NAME}.app"
    contents = app / "Contents"
    info = {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": LAUNCHER_ID,
        "CFBundleExecutable": "caprl-desktop",
        "CFBundlePackageType": "APPL",
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "CFBundleLocalizations": ["en", "ja"],
        "NSHighResolutionCapable": True,
    }
    files = [FileEntry(contents / "MacOS" / "caprl-desktop",
                       ("#!/bin/sh\n" + "exec " + shell_line(launcher, '"$@"') + "\n").encode(), executable=True)]
    if icns is not None:
        info["CFBundleIconFile"] = "caprl-desktop.icns"
        files.append(FileEntry(contents / "Resources" / "caprl-desktop.icns", icns.read_bytes()))
    files.append(FileEntry(contents / "Info.plist", plistlib.dumps(info)))
    return app, tuple(files)


def plan(launcher: list[str], language: str, version: str = "", icns: Path | None = None) -> Plan:
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
    files: tuple[FileEntry, ...] = (
        FileEntry(bundle / "Contents" / "Info.plist", plistlib.dumps(info)),
        FileEntry(bundle / "Contents" / "document.wflow", plistlib.dumps(document)),
    )
    folders: tuple[Path, ...] = (bundle,)
    notes: tuple[str, ...] = ()
    app = app_bundle(launcher[0])
    if app is None:
        launcher_bundle, launcher_files = launcher_app(launcher, version, icns)
        files += launcher_files
        folders += (launcher_bundle,)
        notes = (f'Launchpad and Spotlight: "{APP_NAME}" ({launcher_bundle.parent})',)
    refused = "" if app is None or not translocated(app) else (
        "CapRL Desktop is running from a temporary copy that macOS made because it was opened from Downloads "
        "or a disk image. Move CapRL Desktop to Applications, open it from there, and add the Quick Action again.")
    return Plan("macos", files, folders=folders, notes=(
        *notes, f'Finder: right-click a folder or images → Quick Actions → "{label}" (or Services)',
    ), refused=refused)
