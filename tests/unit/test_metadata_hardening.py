"""Descriptions in images against hostile input (issue 25): DEL in a caption, damaged XMP, two images that share a
stem, the user's folders in shared photos, a write killed midway, and Exiv2's own messages."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core import atomic, metadata
from caprl_desktop.core.app_log import log_path
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.engine.remote.servers import parse_server
from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.export.provenance import PROVENANCE_COLUMNS, Provenance
from caprl_desktop.core.jobs.descriptions import write_caption_description, xmp_sidecar_of
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.metadata import _exiv2io
from caprl_desktop.core.metadata.fields import check_provenance
from tests.support.exiftool import exiftool, make_photo
from tests.support.fake_engine import FakeEngine
from tests.support.hostile_metadata import DAMAGED_XMP, hidden, killed_midway, with_xmp_packet
from tests.support.jobs import options

HOME = "/home/somebody/models"


def _describe(item: ImageItem, text: str, mode: str, **kw: object) -> object:
    return write_caption_description(item, text, "en", kw.get("provenance"),  # type: ignore[arg-type]
                                     mode=mode, existing="keep",  # type: ignore[arg-type]
                                     text_sidecar=kw.get("text_sidecar"),  # type: ignore[arg-type]
                                     caption_folder=kw.get("caption_folder"))  # type: ignore[arg-type]


# --- item 3: one cleaning rule, the hash over what was written ----------------------------------------------


@pytest.mark.parametrize("kind", ["embed", "xmp"])
def test_a_caption_with_del_stays_the_apps_own_description(tmp_path: Path, kind: str) -> None:
    photo = make_photo(tmp_path / "a.jpg", "JPEG")
    item = ImageItem(photo, tmp_path)
    first = _describe(item, "A cat\x7f on a mat.", kind)
    where = first.written  # type: ignore[attr-defined]
    found = metadata.read_description(photo) if kind == "embed" else metadata.read_xmp_sidecar(where)
    assert found is not None and found.app_written, found
    assert found.text == "A cat on a mat." == exiftool(where, "-XMP-dc:Description")["XMP-dc:Description"]

    # Later runs recognise it as the app's and replace it; a description the app disowned would be kept.
    again = _describe(item, "A dog.", kind)
    assert not again.kept_existing  # type: ignore[attr-defined]
    assert exiftool(where, "-XMP-dc:Description")["XMP-dc:Description"] == "A dog."


def test_the_cleaning_rule_leaves_nothing_the_xmp_toolkit_would_change() -> None:
    """Every character the toolkit changes or drops (found over the whole BMP) is one the rule removes."""
    odd = [*range(0x00, 0x100), 0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF, 0x1F600, 0x10FFFF]
    with _exiv2io.exiv2_lock():
        for code in odd:
            clean = metadata.clean_for_xml(f"a{chr(code)}b")
            assert _exiv2io.as_stored(clean) == clean, hex(code)


# --- item 4: damaged XMP already in a photo ---------------------------------------------------------------------


def test_damaged_xmp_in_a_photo_is_left_and_the_description_goes_to_a_sidecar(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    photo = with_xmp_packet(make_photo(tmp_path / "a.jpg", "JPEG"), DAMAGED_XMP)
    before = photo.read_bytes()
    with pytest.raises(metadata.MetadataError, match=r"XMP metadata already in a\.jpg is damaged"):
        metadata.write_description(photo, "A cat.", "en", {})
    assert photo.read_bytes() == before

    with caplog.at_level(logging.INFO, logger="caprl_desktop"):
        outcome = _describe(ImageItem(photo, tmp_path), "A cat.", "embed")
    assert photo.read_bytes() == before  # the old packet, bytes and all, is still there
    assert outcome.written == tmp_path / "a.xmp" and "damaged" in outcome.note  # type: ignore[attr-defined]
    found = metadata.read_xmp_sidecar(tmp_path / "a.xmp")
    assert found is not None and found.text == "A cat." and found.app_written
    # Item 21: Exiv2's own words go to the app's log, not to the terminal.
    assert capfd.readouterr().err == ""
    assert any("XMP Toolkit error" in r.getMessage() for r in caplog.records)


def test_a_damaged_xmp_sidecar_is_left_as_it_is(tmp_path: Path) -> None:
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a")
    sidecar = tmp_path / "a.xmp"
    sidecar.write_bytes(DAMAGED_XMP)
    outcome = _describe(ImageItem(gif, tmp_path), "A cat.", "xmp")
    assert sidecar.read_bytes() == DAMAGED_XMP
    assert outcome.written is None and "damaged" in outcome.problem  # type: ignore[attr-defined]


def test_an_empty_but_sound_xmp_packet_is_written_over(tmp_path: Path) -> None:
    empty = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
             b'<rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>')
    photo = with_xmp_packet(make_photo(tmp_path / "a.jpg", "JPEG"), empty)
    assert metadata.write_description(photo, "A cat.", "en", {}).written
    assert metadata.read_description(photo).text == "A cat."  # type: ignore[union-attr]


def test_exiv2s_own_messages_go_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    """The real command in a process of its own: under pytest, logging has handlers that would hide stderr."""
    photo = with_xmp_packet(make_photo(tmp_path / "a.jpg", "JPEG"), DAMAGED_XMP)
    shown = subprocess.run([sys.executable, "-m", "caprl_desktop", "metadata", "show", str(photo)],
                           capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == "" and shown.stdout == f"{photo}: no description\n"
    logged = log_path("cli").read_text(encoding="utf-8")
    assert "XMP Toolkit error 201" in logged and "Failed to decode XMP metadata" in logged


# --- item 8b: one planner for the XMP sidecar's name ----------------------------------------------------------


def test_show_reads_the_sidecar_the_run_wrote_for_each_of_two_images_sharing_a_stem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jpg, png = make_photo(tmp_path / "a.jpg", "JPEG"), make_photo(tmp_path / "a.png", "PNG")
    for image, text in ((jpg, "the JPEG's caption"), (png, "the PNG's caption")):
        _describe(ImageItem(image, tmp_path), text, "xmp")
    assert sorted(p.name for p in tmp_path.glob("*.xmp")) == ["a.png.xmp", "a.xmp"]

    assert main(["metadata", "show", str(png)]) == 0
    out = capsys.readouterr().out
    assert "the PNG's caption" in out and "the JPEG's caption" not in out
    assert main(["metadata", "show", str(jpg)]) == 0
    assert "the JPEG's caption" in capsys.readouterr().out


def test_show_finds_a_sidecar_under_output_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "card"
    card.mkdir()
    photo = make_photo(card / "a.jpg", "JPEG")
    out = tmp_path / "out"
    outcome = _describe(ImageItem(photo, card), "written under the caption folder", "xmp", caption_folder=out)
    assert outcome.written == out / "card" / "a.xmp"  # type: ignore[attr-defined]

    for given in (photo, card):  # the image, or the folder as `caption` was given it
        assert main(["metadata", "show", str(given), "--output-dir", str(out)]) == 0
        assert "written under the caption folder" in capsys.readouterr().out
    assert xmp_sidecar_of(ImageItem(photo, card), out) == outcome.written  # type: ignore[attr-defined]


def test_a_sidecar_is_never_written_under_an_images_name(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "a.jpg", "JPEG")
    before = photo.read_bytes()
    with pytest.raises(ValueError, match="XMP sidecar"):
        metadata.write_xmp_sidecar(photo, "x", "en", {})
    assert photo.read_bytes() == before


# --- item 12b: no path of this computer in a shared photo -------------------------------------------------------


def _provenance() -> Provenance:
    values: dict[str, object] = {name: None for name in PROVENANCE_COLUMNS}
    values |= {"app_version": "1.0", "model_file": "CapRL-3B.Q4_K_M.gguf", "model_path": f"{HOME}/CapRL-3B.Q4_K_M.gguf",
               "model_family": "CapRL-3B", "model_quant": "Q4_K_M", "model_sha256": "ab" * 32,
               "projector_file": "CapRL-3B.mmproj-f16.gguf", "projector_path": f"{HOME}/CapRL-3B.mmproj-f16.gguf",
               "projector_sha256": "cd" * 32, "seed": 7, "engine_model": f"{HOME}/served.gguf"}
    return Provenance(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["embed", "xmp"])
def test_the_description_names_the_model_but_no_folder_of_this_computer(tmp_path: Path, kind: str) -> None:
    photo = make_photo(tmp_path / "a.png", "PNG")
    outcome = _describe(ImageItem(photo, tmp_path), "A cat.", kind, provenance=_provenance())
    where = outcome.written  # type: ignore[attr-defined]
    assert where == (photo if kind == "embed" else tmp_path / "a.xmp")
    found = exiftool(where, "-XMP:all")
    assert "/home/" not in json.dumps(found)
    assert found["XMP-caprl:Model_file"] == "CapRL-3B.Q4_K_M.gguf"
    assert found["XMP-caprl:Model_family"] == "CapRL-3B" and found["XMP-caprl:Model_quant"] == "Q4_K_M"
    assert found["XMP-caprl:Model_sha256"] == "ab" * 32 and found["XMP-caprl:Projector_sha256"] == "cd" * 32
    assert found["XMP-caprl:Engine_model"] == "served.gguf"


def test_only_full_paths_are_cut_to_their_names() -> None:
    checked = check_provenance({"model_file": "C:\\Users\\me\\m.gguf", "engine_model": "internlm/CapRL-2B, ~/x/y.gguf",
                                "system_prompt": "/no_think Describe.", "model_path": "/srv/m.gguf"})
    assert checked == {"model_file": "m.gguf", "engine_model": "internlm/CapRL-2B, y.gguf",
                       "system_prompt": "/no_think Describe."}


# --- item 20: the hidden copy a killed write leaves -------------------------------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX's")
def test_the_next_run_removes_the_copy_a_killed_write_left(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "k05.png", "PNG")
    before = photo.read_bytes()
    killed_midway(photo)
    assert photo.read_bytes() == before
    assert len(hidden(tmp_path)) == 1  # the copy, as large as the photo

    run = run_job([ImageItem(photo, tmp_path)], options(), FakeEngine())
    next(run)  # the run has planned its work: nothing is captioned yet
    run.close()

    assert hidden(tmp_path) == []
    assert photo.read_bytes() == before


def test_only_the_apps_copies_whose_writer_is_gone_are_removed(tmp_path: Path) -> None:
    from caprl_desktop.core.metadata import sweep_leftovers

    photo = make_photo(tmp_path / "a.jpg", "JPEG")
    fd, live = atomic._open_temp(tmp_path, _exiv2io._temp_prefix(photo.name))  # this process: writing
    os.close(fd)
    host = _exiv2io._HOST
    other_host = "0" * 6 if host != "0" * 6 else "1" * 6
    dead_pid = _a_finished_pid()
    names = {
        "dead": f".a.jpg.caprl-{host}-{dead_pid}-0123abcd.tmp",  # its writer no longer runs: removed
        "elsewhere": f".a.jpg.caprl-{other_host}-{os.getpid()}-0123abcd.tmp",  # another computer, fresh: kept
        "elsewhere, old": f".b.jpg.caprl-{other_host}-1-0123abcd.tmp",  # no change for hours: removed
        "user's": ".a.jpg.0123abcd.tmp",  # not the app's mark: never touched
        "user's too": ".notes.caprl-draft.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    old = time.time() - _exiv2io.STALE_AFTER_S - 60
    os.utime(tmp_path / names["elsewhere, old"], (old, old))

    assert sweep_leftovers([tmp_path]) == 2
    assert hidden(tmp_path) == sorted([live.name, names["elsewhere"], names["user's"], names["user's too"]])


def _a_finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


# --- item 21, second half: a library's exception as a reason ------------------------------------------------------


class _NotJson(BaseHTTPRequestHandler):
    """A "server" whose every answer is a body that is no JSON at all (a proxy's page, a broken server)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"{oops}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_an_answer_that_is_not_json_is_said_in_the_apps_words() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotJson)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        with RemoteEngine([parse_server(url + "#1")]) as engine, pytest.raises(EngineError) as refused:
            engine.start()
    finally:
        server.shutdown()
        server.server_close()
    message = str(refused.value)
    assert "not the JSON an OpenAI-compatible server sends" in message
    assert "JSONDecodeError" not in message and "Expecting property name" not in message
