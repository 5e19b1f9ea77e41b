"""File-manager integration and the single window: real files in a temporary home, real launches.

The window side is this test process (a ``SingleInstance`` listening, as the running app does); every
launch is a real ``caprl-desktop`` process started the way the file manager starts it: the Nautilus
script run with the selected names as arguments, the desktop entries' ``Exec`` expanded by the
Desktop Entry spec's rules.  Each must hand over exactly the paths selected, however hostile.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.images.formats import IMAGE_MIME_TYPES
from caprl_desktop.core.integration import current_plan, install, macos, status, uninstall
from caprl_desktop.core.integration.linux import exec_value
from caprl_desktop.core.integration.plan import LABELS, IntegrationRefused, ShortcutEntry, launcher
from caprl_desktop.core.integration.windows import APP_ID as APP_USER_MODEL_ID
from caprl_desktop.core.integration.windows import VERB
from caprl_desktop.ui.single_instance import SingleInstance
from tests.support.cli import REPO
from tests.support.hostile import HOSTILE_FILES, HOSTILE_FOLDER


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "xdg-data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return data


@pytest.fixture
def window_side(qtbot: QtBot) -> Iterator[SingleInstance]:
    instance = SingleInstance()
    assert instance.claim() and instance.listen()
    yield instance
    instance.close()
    qtbot.wait(10)


def launch_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}


def hostile_paths(root: Path) -> list[Path]:
    folder = root / HOSTILE_FOLDER
    folder.mkdir(parents=True)
    made = [folder]
    for name in HOSTILE_FILES:
        (folder / name).write_bytes(b"")
        made.append(folder / name)
    return made


def desktop_exec_argv(value: str, files: list[Path]) -> list[str]:
    """What a file manager runs for an ``Exec`` value with %F: the Desktop Entry spec's unescaping and quoting."""
    text = value.replace("\\\\", "\\")  # the string value's own escaping
    argv: list[str] = []
    i, current, quoted, started = 0, "", False, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
                current += text[i + 1]
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current += ch
        elif ch == '"':
            quoted, started = True, True
        elif ch == " ":
            if started or current:
                argv.append(current)
            current, started = "", False
        else:
            current += ch
        i += 1
    if started or current:
        argv.append(current)
    expanded: list[str] = []
    for arg in argv:
        if arg == "%F":
            expanded.extend(str(f) for f in files)
        else:
            expanded.append(arg.replace("%%", "%"))
    return expanded


def received(qtbot: QtBot, instance: SingleInstance, run: subprocess.Popen[bytes]) -> list[Path]:
    with qtbot.waitSignal(instance.pathsReceived, timeout=30_000) as blocker:
        pass
    assert run.wait(timeout=30) == 0
    paths: list[Path] = blocker.args[0]
    return paths


def test_linux_install_is_idempotent_and_uninstall_leaves_nothing(xdg: Path) -> None:
    plan = current_plan("linux", "ja")
    assert status(plan) == "not installed"
    install(plan)
    install(plan)  # again: the same files, nothing added
    assert status(plan) == "installed"
    written = sorted(p for p in xdg.rglob("*") if p.is_file())
    assert written == sorted(e.path for e in plan.files)
    script = xdg / "nautilus" / "scripts" / LABELS["ja"]
    service = xdg / "kio" / "servicemenus" / "caprl-desktop-caption.desktop"
    for executable in (script, service):
        assert executable.stat().st_mode & stat.S_IXUSR
    text = service.read_text(encoding="utf-8")
    assert "Name=Caption with CapRL" in text and "Name[ja]=CapRLでキャプション" in text
    assert "inode/directory" in text and "image/jpeg" in text
    app_entry = (xdg / "applications" / "caprl-desktop.desktop").read_text(encoding="utf-8")
    mime_line = next(line for line in app_entry.splitlines() if line.startswith("MimeType="))
    assert mime_line == "MimeType=" + "".join(f"{m};" for m in (*IMAGE_MIME_TYPES, "inode/directory"))
    assert {"image/jpeg", "image/heic", "inode/directory"} <= set(mime_line.removeprefix("MimeType=").split(";"))
    uninstall(plan)
    assert status(plan) == "not installed"
    assert not [p for p in xdg.rglob("*") if p.is_file()]


def test_desktop_entries_pass_desktop_file_validate(xdg: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:  # under .ci/run (CAPRL_NO_SKIPS) this skip fails the run
        pytest.skip("desktop-file-validate is not installed (apt install desktop-file-utils)")
    install(current_plan("linux", "en"))
    result = subprocess.run([validator, str(xdg / "applications" / "caprl-desktop.desktop")], capture_output=True,
                            text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    # A KDE service menu is Type=Service, which the freedesktop validator does not know: it objects to the
    # two keys KDE defines for it (MimeType, Actions) and to nothing else.
    result = subprocess.run([validator, str(xdg / "kio" / "servicemenus" / "caprl-desktop-caption.desktop")],
                            capture_output=True, text=True)
    complaints = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(complaints) == 2 and all('but the type is "Service"' in c for c in complaints), result.stdout


def test_exec_value_quotes_by_the_spec() -> None:
    tricky = ["/opt/Cap RL/bin/python", "-m", "caprl_desktop", 'a"b`c$d\\e', "100%", "%F"]
    value = exec_value(tricky)
    assert value.endswith(" %F") and "100%%" in value
    assert desktop_exec_argv(value, [Path("/x")]) == [*tricky[:-1], "/x"]


def test_nautilus_script_hands_hostile_names_to_the_running_window(
    qtbot: QtBot, xdg: Path, tmp_path: Path, window_side: SingleInstance
) -> None:
    install(current_plan("linux", "en"))
    script = xdg / "nautilus" / "scripts" / LABELS["en"]
    selected = hostile_paths(tmp_path)
    # Nautilus runs the script in the current folder with the selected names as arguments.
    run = subprocess.Popen([str(script), *(p.name for p in selected[1:])], cwd=selected[0], env=launch_env())
    assert received(qtbot, window_side, run) == selected[1:]
    # Right-click on the folder's background: no selection, the current folder is captioned.
    run = subprocess.Popen([str(script)], cwd=selected[0], env=launch_env())
    assert received(qtbot, window_side, run) == [selected[0]]
    assert not (tmp_path / "pwned").exists() and not (selected[0] / "pwned").exists()


@pytest.mark.parametrize("entry", ["kio/servicemenus/caprl-desktop-caption.desktop",
                                   "applications/caprl-desktop.desktop"])
def test_desktop_entries_hand_hostile_names_to_the_running_window(
    qtbot: QtBot, xdg: Path, tmp_path: Path, window_side: SingleInstance, entry: str
) -> None:
    install(current_plan("linux", "en"))
    [exec_line] = [line for line in (xdg / entry).read_text(encoding="utf-8").splitlines()
                   if line.startswith("Exec=")]
    selected = hostile_paths(tmp_path)
    run = subprocess.Popen(desktop_exec_argv(exec_line.removeprefix("Exec="), selected), env=launch_env(),
                           cwd=tmp_path)
    assert received(qtbot, window_side, run) == selected


def test_a_second_launch_hands_its_paths_over_and_exits(
    qtbot: QtBot, tmp_path: Path, window_side: SingleInstance
) -> None:
    (tmp_path / "新しい写真").mkdir()
    run = subprocess.Popen([*launcher(), "新しい写真", "-rf.jpg"], cwd=tmp_path, env=launch_env())
    assert received(qtbot, window_side, run) == [tmp_path / "新しい写真", tmp_path / "-rf.jpg"]


class DictRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def set_value(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def get_value(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def delete_tree(self, key: str) -> None:
        for k in [k for k in self.values if k[0] == key or k[0].startswith(key + "\\")]:
            del self.values[k]


class DictShortcuts:
    """Shortcuts as the shell keeps them; each ``write`` also leaves a file, as ``IPersistFile.Save`` does."""

    def __init__(self) -> None:
        self.links: dict[Path, ShortcutEntry] = {}

    def write(self, entry: ShortcutEntry) -> None:
        entry.path.write_bytes(b"L\0\0\0")  # a .lnk starts with its header size, 0x4C
        self.links[entry.path] = entry

    def read(self, path: Path) -> ShortcutEntry | None:
        return self.links.get(path)


def test_windows_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    exe = r"C:\Users\山田\AppData\Local\CapRL Desktop\CapRL Desktop.exe"
    plan = current_plan("windows", "ja", command=[exe])
    registry, shortcuts = DictRegistry(), DictShortcuts()
    with pytest.raises(WriteError, match="shortcuts"):  # never half an install where the shell is missing
        install(plan, registry)
    install(plan, registry, shortcuts)
    # A Start-menu entry that starts the window, grouped on the taskbar with it by the window's own ID.
    link = tmp_path / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "CapRL Desktop.lnk"
    entry = shortcuts.read(link)
    assert entry is not None and link.is_file()
    assert (entry.target, entry.arguments, entry.app_id) == (exe, "gui", APP_USER_MODEL_ID)
    folder_key = rf"Software\Classes\Directory\shell\{VERB}"
    assert registry.get_value(folder_key, "MUIVerb") == "CapRLでキャプション"
    assert registry.get_value(folder_key + r"\command", "") == f'"{exe}" gui -- "%1"'
    background = rf"Software\Classes\Directory\Background\shell\{VERB}\command"
    assert registry.get_value(background, "") == f'"{exe}" gui -- "%V\\."'  # a drive root arrives whole
    jpeg = rf"Software\Classes\SystemFileAssociations\.jpg\shell\{VERB}\command"
    assert registry.get_value(jpeg, "") == f'"{exe}" gui -- "%1"'
    # Explorer hides a verb on more than 15 selected items unless it takes them as one "player".
    assert registry.get_value(jpeg.removesuffix("\\command"), "MultiSelectModel") == "Player"
    assert all(k.startswith("Software\\Classes\\") for k, _ in registry.values)  # per user: HKCU only
    assert status(plan, registry, shortcuts) == "installed"
    uninstall(plan, registry)
    assert registry.values == {} and not link.exists()
    assert status(plan, registry, shortcuts) == "not installed"


def test_windows_start_menu_entry_for_a_pip_install_runs_the_windowed_script(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPDATA", str(tmp_path))
    python = r"C:\Program Files\Python312\pythonw.exe"
    [entry] = current_plan("windows", "en", command=[python, "-P", "-m", "caprl_desktop"]).shortcuts
    assert (entry.target, entry.arguments) == (python, "-P -m caprl_desktop gui")
    assert entry.icon.endswith("caprl-desktop.ico") and Path(entry.icon).is_file()


def test_macos_pip_install_gets_an_app_in_applications(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    marker = tmp_path / "argv"
    command = [sys.executable, "-c", f"import sys; open({str(marker)!r}, 'w').write(repr(sys.argv[1:]))"]
    plan = current_plan("macos", "en", command=command)
    install(plan)
    app = tmp_path / "Applications" / "CapRL Desktop.app" / "Contents"
    info = plistlib.loads((app / "Info.plist").read_bytes())
    assert info["CFBundleExecutable"] == "caprl-desktop" and info["CFBundlePackageType"] == "APPL"
    assert info["CFBundleIdentifier"] != macos.BUNDLE_ID  # `open -b` keeps finding the packaged app only
    with Image.open(app / "Resources" / info["CFBundleIconFile"]) as icon:
        assert icon.format == "ICNS"
    script = app / "MacOS" / "caprl-desktop"
    assert script.stat().st_mode & stat.S_IXUSR
    # Finder starts it with no arguments; names given to it (open --args) pass whole.
    subprocess.run([str(script), "$HOME", "a b"], check=True, timeout=30)
    assert marker.read_text() == repr(["gui", "--", "$HOME", "a b"])
    assert status(plan) == "installed"
    uninstall(plan)
    assert not (tmp_path / "Applications" / "CapRL Desktop.app").exists()
    assert not (tmp_path / "Library" / "Services" / "Caption with CapRL.workflow").exists()


def test_macos_quick_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    app = "/Applications/CapRL Desktop.app/Contents/MacOS/CapRL Desktop"
    plan = current_plan("macos", "en", command=[app])
    install(plan)
    bundle = tmp_path / "Library" / "Services" / "Caption with CapRL.workflow"
    info = plistlib.loads((bundle / "Contents" / "Info.plist").read_bytes())
    [service] = info["NSServices"]
    assert service["NSMenuItem"]["default"] == "Caption with CapRL"
    assert set(service["NSSendFileTypes"]) == {"public.folder", "public.image"}
    document = plistlib.loads((bundle / "Contents" / "document.wflow").read_bytes())
    parameters = document["actions"][0]["action"]["ActionParameters"]
    assert parameters["inputMethod"] == 1  # the selection as arguments
    # The app bundle: macOS hands the paths to the app (running or not); the action returns at once.
    assert parameters["COMMAND_STRING"] == 'open -b io.github.caprl-desktop "$@"'
    # The shell line run with hostile names passes them on unchanged (sh is the same on macOS).
    probe = parameters["COMMAND_STRING"].replace("open -b io.github.caprl-desktop",
                                                 f"{sys.executable} -c 'import sys; print(sys.argv[1:])'")
    names = ['a"; rm -rf ~; ".jpg', "$HOME", "`id`"]
    out = subprocess.run(["/bin/sh", "-c", probe, "sh", *names], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == repr(names)
    uninstall(plan)
    assert not bundle.exists()


def test_macos_quick_action_for_a_pip_install_returns_at_once_and_passes_names_whole(tmp_path: Path) -> None:
    command = macos.shell_command([sys.executable, "-c", "import sys, time; time.sleep(3); "
                                   "open(sys.argv[-1], 'w').write(repr(sys.argv[1:-1]))"])
    marker = tmp_path / "argv"
    started = time.monotonic()
    done = subprocess.run(["/bin/sh", "-c", command, "sh", 'a"; rm -rf ~; ".jpg', "$HOME", str(marker)],
                          cwd=tmp_path, timeout=30)
    assert done.returncode == 0 and time.monotonic() - started < 2  # the action does not wait for the window
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert marker.read_text() == repr(["gui", "--", 'a"; rm -rf ~; ".jpg', "$HOME"])


def test_macos_quick_action_is_refused_from_a_translocated_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    app = ("/private/var/folders/xy/abc/T/AppTranslocation/1A2B-3C4D/d/CapRL Desktop.app/Contents/MacOS/"
           "CapRL Desktop")
    plan = current_plan("macos", "en", command=[app])
    with pytest.raises(IntegrationRefused, match="Move CapRL Desktop to Applications"):
        install(plan)
    assert not (tmp_path / "Library").exists()


def test_a_killed_window_leaves_nothing_in_the_way_of_the_next(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtNetwork import QLocalSocket

    from caprl_desktop.ui.single_instance import server_name

    first = subprocess.Popen(launcher(), env=launch_env(), cwd=tmp_path, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:  # until the first window listens
        probe = QLocalSocket()
        probe.connectToServer(server_name())
        connected = probe.waitForConnected(200)
        probe.abort()
        probe.deleteLater()
        if connected:
            break
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)  # its lock and its socket are left behind as they were
    assert first.wait() == -signal.SIGKILL

    instance = SingleInstance()
    assert instance.claim() and instance.listen()  # the next window takes over
    run = subprocess.Popen([*launcher(), "x.jpg"], cwd=tmp_path, env=launch_env())
    assert received(qtbot, instance, run) == [tmp_path / "x.jpg"]
    instance.close()
    qtbot.wait(10)


def test_the_launcher_does_not_import_modules_from_the_folder_it_starts_in(tmp_path: Path) -> None:
    """A file manager starts the app in the folder right-clicked; a json.py there must not replace the library's."""
    folder = tmp_path / "right-clicked"
    folder.mkdir()
    marker = tmp_path / "hijacked"
    (folder / "json.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('not the real json')\n")
    result = subprocess.run([*launcher(), "--version"], cwd=folder, env=launch_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "caprl-desktop" in result.stdout and not marker.exists()
