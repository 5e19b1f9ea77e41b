"""Explorer's verbs, read the way Windows' C runtime reads a command line (CommandLineToArgvW's rules, in the test)."""

from __future__ import annotations

from pathlib import PureWindowsPath

import pytest

from caprl_desktop.core.integration.windows import command_line


def split_windows(command: str) -> list[str]:
    """The C runtime's rules: 2n backslashes + quote → n backslashes and a quote toggle; 2n+1 → n and a literal
    quote; backslashes not before a quote are literal; "" inside quotes is a literal quote."""
    args: list[str] = []
    current: list[str] = []
    quoted = had_arg = False
    i = 0
    while i < len(command):
        c = command[i]
        if c == "\\":
            n = 0
            while i < len(command) and command[i] == "\\":
                n += 1
                i += 1
            if i < len(command) and command[i] == '"':
                current.append("\\" * (n // 2))
                if n % 2:
                    current.append('"')
                    i += 1
                had_arg = True
                continue
            current.append("\\" * n)
            had_arg = True
            continue
        if c == '"':
            if quoted and i + 1 < len(command) and command[i + 1] == '"':
                current.append('"')
                i += 2
                continue
            quoted = not quoted
            had_arg = True
        elif c in " \t" and not quoted:
            if had_arg:
                args.append("".join(current))
                current, had_arg = [], False
        else:
            current.append(c)
            had_arg = True
        i += 1
    if had_arg:
        args.append("".join(current))
    return args


def test_the_parser_follows_the_documented_examples() -> None:
    assert split_windows(r'"a b c" d e') == ["a b c", "d", "e"]
    assert split_windows(r'"ab\"c" "\\" d') == ['ab"c', "\\", "d"]
    assert split_windows(r'a\\\b d"e f"g h') == [r"a\\\b", "de fg", "h"]
    assert split_windows(r'a\\\"b c d') == [r'a\"b', "c", "d"]
    assert split_windows(r'a\\\\"b c" d e') == [r"a\\b c", "d", "e"]


@pytest.mark.parametrize(("folder", "expected"), [
    ("E:\\", "E:\\"),  # the background of a drive root
    ("C:\\", "C:\\"),
    ("C:\\Photos 2024", "C:\\Photos 2024"),
    ("D:\\写真\\旅行", "D:\\写真\\旅行"),
    ("\\\\server\\share\\scans", "\\\\server\\share\\scans"),
])
def test_a_folder_background_arrives_as_that_folder(folder: str, expected: str) -> None:
    launcher = ["C:\\Program Files\\CapRL Desktop\\CapRL Desktop.exe"]
    line = command_line(launcher, "%V").replace("%V", folder)  # what Explorer runs
    args = split_windows(line)
    assert args[:3] == [launcher[0], "gui", "--"] and len(args) == 4
    assert PureWindowsPath(args[3]) == PureWindowsPath(expected)


def test_files_and_folders_arrive_whole_with_spaces_and_quotes_in_the_launcher() -> None:
    launcher = ["C:\\Users\\ユーザー\\app\\pythonw.exe", "-m", "caprl_desktop"]
    for item in ("C:\\Photos 2024\\IMG 0001.JPG", "C:\\a folder"):
        args = split_windows(command_line(launcher, "%1").replace("%1", item))
        assert args == [*launcher, "gui", "--", item]
