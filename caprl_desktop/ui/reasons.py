"""Why an image failed, in the interface's language: the core's ``Reason`` (``core/errors.py``: a kind and its
parameters) worded here with ``tr()``, so that the Japanese window says it in Japanese. The parameters go in as
the core gives them (a file's name, a count; a detail the system or a server gave stays as it came). A reason of a
kind this face does not word (``OTHER``, or a newer kind) is shown as the core's English sentence.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from caprl_desktop.core.errors import Reason


class ReasonWords(QObject):
    """Words each kind of reason; ``text(reason)`` is what the window shows."""

    def text(self, why: Reason) -> str:
        template = self.template(why)
        if template is None:
            return why.text
        values = {name: self.text(value) if isinstance(value, Reason) else value for name, value in why.params}
        if why.kind == "image_not_file":
            values["what"] = self._what(str(values.get("what", "")))
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that names a parameter the reason lacks
            return why.text

    def _what(self, code: str) -> str:
        return {"pipe": self.tr("a named pipe (FIFO)"), "device": self.tr("a device"), "socket": self.tr("a socket"),
                "folder": self.tr("a folder")}.get(code, self.tr("not a regular file"))

    def template(self, why: Reason) -> str | None:
        """The words of ``why``'s kind, with its parameters to fill in; None for a kind not worded here."""
        kind = why.kind
        # Images that cannot be read (core/images/loading.py).
        if kind == "image_gone":
            return self.tr("{name} no longer exists")
        if kind == "image_not_file":
            return self.tr("{name} is {what}, not an image file")
        if kind == "image_no_permission":
            return self.tr("{name} cannot be read: permission denied")
        if kind == "image_link_loop":
            return self.tr("{name} is a symbolic link that leads back to itself")
        if kind == "image_unreadable":
            return self.tr("{name} cannot be read: {detail}")
        if kind == "image_file_too_large":
            return self.tr("{name} is {gib} GiB, too large for an image (a video or disk image with an image's "
                           "name?)") if why.get("gib") else self.tr("{name} is too large for an image")
        if kind == "image_empty":
            return self.tr("{name} is an empty file")
        if kind == "image_out_of_memory":
            return self.tr("{name} is too large to decode in the memory available")
        if kind == "image_damaged":
            return self.tr("{name} is damaged or not a supported image ({detail})")
        if kind == "image_unsupported":
            return self.tr("{name} is not an image the app can read ({formats})")
        if kind == "image_too_much_memory":
            return self.tr("{name} is {width}×{height} pixels ({mode}) that would take {need} of memory decoded; "
                           "the limit is {limit}")
        if kind == "image_no_pixels":
            return self.tr("{name} has no pixels")
        if kind == "image_too_many_pixels":
            return self.tr("{name} is {width}×{height} pixels ({megapixels} MP); the limit is {limit} MP")
        if kind == "image_too_long":
            return self.tr("{name} is {width}×{height} pixels: shapes longer than {ratio}:1 cannot be captioned")
        # Captions that were made but are no use, or not saved (core/jobs/outcomes.py, core/atomic.py).
        if kind == "empty_caption":
            return self.tr("the model returned an empty caption")
        if kind == "not_saved":
            return self.tr("caption made but not saved: {why}")
        if kind == "write_disk_full":
            return self.tr("the disk is full; {name} was not written")
        if kind == "write_no_permission":
            return self.tr("no permission to write in {folder}")
        if kind == "write_read_only":
            return self.tr("{folder} is on a read-only disk")
        if kind == "write_name_too_long":
            return self.tr("the name {name} is too long for this disk")
        if kind == "write_failed":
            return self.tr("{name} could not be written: {detail}")
        if kind == "caption_file_links_out":
            return self.tr("not captioned: its caption file {name} is a link to {target}, outside its folder, and "
                           "nothing is written through such a link")
        # The engine (core/jobs/scheduler.py, core/engine/client.py).
        if kind == "engine_gave_up":
            return self.tr("not captioned: the engine crashed on {count} images in a row")
        if kind == "engine_crashed_on_image":
            return self.tr("the engine crashed on this image {attempts} times, so it was skipped: {crash}")
        if kind == "engine_stopped":
            return self.tr("the caption engine stopped ({how}): {detail}") if why.get("detail") \
                else self.tr("the caption engine stopped ({how})")
        # Caption servers (core/engine/remote/engine.py).
        if kind == "request_not_started":
            return self.tr("could not start a request: {detail}")
        if kind == "server_refused":
            return self.tr("{server} refused it: {detail}")
        if kind == "servers_gave_up":
            return self.tr("no server could caption it in {tries} tries (last: {server}, {detail})")
        if kind == "no_server_answers":
            return self.tr("no caption server answers ({detail}); resume the job once one does")
        # Another run holds the folder (core/jobs/folder_locks.py).
        if kind == "folder_busy":
            return self.tr("{folder} is being captioned by process {pid} ({what}). Wait for it to finish, or stop "
                           "it, then try again.") if why.get("pid") else \
                self.tr("{folder} is being captioned by another CapRL Desktop window or command. Wait for it to "
                        "finish, or stop it, then try again.")
        if kind == "folder_overlaps":
            return self.tr("{folder} is being captioned by process {pid} ({what}), and {clash} overlaps it. Wait "
                           "for it to finish, or stop it, then try again.") if why.get("pid") else \
                self.tr("{folder} is being captioned by another CapRL Desktop window or command, and {clash} "
                        "overlaps it. Wait for it to finish, or stop it, then try again.")
        return None


_words: ReasonWords | None = None


def reason_text(why: Reason) -> str:
    """``why`` in the interface's language (the translators installed now)."""
    global _words
    if _words is None:
        _words = ReasonWords()
    return _words.text(why)
