"""Files to and from a tab's target in the app: drop files on the terminal, or "Download…" from the tab.

Both run :func:`ssmux.sessions.copy.copy` (what ``ssmux cp`` runs) on the app's event loop, with the app's
shared AWS clients, for the tab's target, and show a notification that follows the bytes and ends with the
result (or the one-line error).

* **Drop**: files dragged over a terminal make a drop zone appear over it (a NiceGUI upload element that
  uploads to the app as soon as they are dropped); each file then goes to the target. They land in the
  home directory of the session's user (``~/``): a session does not start in the shell's working
  directory (the agent's own), and the shell's current one cannot be read reliably from the outside, while
  the home is where a user's shell starts and is always writable by that user.
* **Download…**: asks for a path on the target (``~/`` prefilled), copies the file into a temporary folder
  of the app, and hands it to the browser as a download. Folders are for ``ssmux cp -r``.

Both go through the app's access guard (:mod:`ssmux.gui.security`), which wants the page key on every
request: the drop zone's upload sends it as a header, and the download is fetched by the page with it (a
plain link, or NiceGUI's ``ui.download.file``, would get the guard's boot page instead of the file).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nicegui import ui

from ssmux.errors import SsmuxError
from ssmux.gui.access_page import STORAGE_NAME
from ssmux.gui.security import KEY_HEADER

if TYPE_CHECKING:
    from nicegui.events import UploadEventArguments

    from ssmux.core.aws import AwsClients
    from ssmux.gui.session_manager import SessionTarget
    from ssmux.sessions.copy import CopyOptions, CopyResult, Endpoint

__all__ = ["HOME", "NotifiedProgress", "Transfers", "download_dialog", "drop_zone"]

#: Where dropped files go on the target: the session user's home (see the module docstring).
HOME = "~/"
#: Seconds between two updates of a progress notification.
UPDATE_EVERY = 0.25
#: Seconds the page may take to fetch a downloaded file from the app (then the copy is removed anyway).
FETCH_TIMEOUT = 3600.0

#: The page key, read by the page where the access page stored it (it is never in a URL or the HTML).
_KEY_JS = f"localStorage.getItem({STORAGE_NAME!r}) || ''"
#: The uploader's request headers (QUploader calls this function for each upload).
_UPLOAD_HEADERS_JS = f"() => [{{name: {KEY_HEADER!r}, value: {_KEY_JS}}}]"
#: Fetches ``url`` (the app's one-use route of the file) with the page key and saves it as ``name``;
#: answers the HTTP status. The file goes to the browser's memory (its disk, for big blobs), as a fetch does.
_FETCH_JS = """async (url, name) => {
  const response = await fetch(window.path_prefix + url, {
    headers: {__HEADER__: __KEY__}, credentials: 'same-origin', cache: 'no-store'});
  if (!response.ok) return response.status;
  const anchor = document.createElement('a');
  anchor.href = URL.createObjectURL(await response.blob());
  anchor.download = name;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(anchor.href), 60000);
  return response.status;
}""".replace("__HEADER__", repr(KEY_HEADER)).replace("__KEY__", _KEY_JS)

#: Shows the drop zone while files are dragged over the element that holds it.
_DRAG_JS = """(e) => {
  if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes('Files')) return;
  const box = e.currentTarget;
  box.classList.add('ssmux-dragging');
  clearTimeout(box._ssmuxDragTimer);
  box._ssmuxDragTimer = setTimeout(() => box.classList.remove('ssmux-dragging'), 1500);
}"""
_DROP_CSS = """
.ssmux-drop-host { position: relative; }
.ssmux-drop { position: absolute; inset: 0; z-index: 20; opacity: 0; pointer-events: none; }
.ssmux-dragging .ssmux-drop { opacity: 0.92; pointer-events: auto; }
.ssmux-drop .q-uploader__list { display: none; }
"""


#: The pages (client ids) that have the drop zone's style already.
_STYLED: set[str] = set()


class NotifiedProgress:
    """A :class:`~ssmux.sessions.copy.Progress` shown as one notification: what, how far, how fast.

    Args:
        verb: "Uploading" or "Downloading".
        what: the file's name.
    """

    def __init__(self, verb: str, what: str) -> None:
        self.verb = verb
        self.what = what
        self.note = ui.notification(f"{verb} {what}…", spinner=True, timeout=None, position="bottom-right")
        self.note.mark("transfer-progress")
        self.total = 0
        self.done = 0
        self._started = time.monotonic()
        self._from = 0
        self._shown = 0.0

    def start(self, total: int, done: int, label: str) -> None:
        """The copy begins."""
        self.total, self.done, self._from = total, done, done
        self._started = time.monotonic()
        self._show(force=True)

    def advance(self, count: int) -> None:
        """More bytes moved."""
        self.done = min(self.total, self.done + count)
        self._show()

    def finish(self) -> None:
        """All bytes moved; the checksums follow."""
        self.done = self.total
        self.note.message = f"{self.verb} {self.what}: checking sha256…"

    def succeeded(self, text: str) -> None:
        """End the notification with ``text``."""
        self.note.message = text
        self.note.spinner = False
        self.note.type = "positive"
        self.note.timeout = 6

    def failed(self, text: str) -> None:
        """End the notification with the error."""
        self.note.message = text
        self.note.spinner = False
        self.note.type = "negative"
        self.note.close_button = "Close"
        self.note.multi_line = True

    def _show(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._shown < UPDATE_EVERY:
            return
        self._shown = now
        elapsed = max(now - self._started, 1e-6)
        rate = (self.done - self._from) / elapsed
        percent = 100 * self.done / self.total if self.total else 100
        self.note.message = (
            f"{self.verb} {self.what}: {percent:.0f}% ({self.done / 1e6:.1f} of {self.total / 1e6:.1f} MB, "
            f"{rate / 1e6:.1f} MB/s)"
        )


class Transfers:
    """Copies to and from one tab's target.

    Args:
        target: the tab's target.
        clients: the app's shared AWS sessions and clients.
        home: where dropped files go (the session user's home).
    """

    def __init__(self, target: SessionTarget, clients: AwsClients | None = None, home: str = HOME) -> None:
        self.target = target
        self.clients = clients
        self.home = home

    @property
    def where(self) -> str:
        """The target as the notifications name it."""
        return self.target.title

    async def upload(self, source: Path) -> CopyResult | None:
        """Copy the local file ``source`` into the home directory on the target; None when it failed."""
        from ssmux.sessions.copy import CopyOptions, Endpoint

        progress = NotifiedProgress("Uploading", source.name)
        dest = Endpoint(self.target.instance_id, self.home)
        done = f"Uploaded {source.name} to {self.home} on {self.where}"
        return await self._run(Endpoint(None, str(source)), dest, CopyOptions(), progress, done)

    async def download(self, remote: str, folder: Path) -> Path | None:
        """Copy the file ``remote`` of the target into ``folder``; its local path, or None when it failed."""
        from ssmux.sessions.copy import CopyOptions, Endpoint

        name = remote.rstrip("/").rsplit("/", 1)[-1] or remote
        progress = NotifiedProgress("Downloading", name)
        result = await self._run(
            Endpoint(self.target.instance_id, remote), Endpoint(None, str(folder)), CopyOptions(), progress,
            f"Downloaded {name} from {self.where}",
        )  # fmt: skip
        return Path(result.destination) if result is not None else None

    async def _run(
        self, source: Endpoint, dest: Endpoint, options: CopyOptions, progress: NotifiedProgress, done: str
    ) -> CopyResult | None:
        from ssmux.sessions.copy import copy
        from ssmux.sessions.resolve_target import ResolvedTarget

        target = self.target
        resolved = ResolvedTarget(target.instance_id, target.aws_profile, target.region, target.title)
        try:
            result = await copy(source, dest, options, progress, resolved=resolved, clients=self.clients)
        except SsmuxError as error:
            progress.failed(f"{progress.verb} {progress.what} failed: {_app_words(str(error))}")
            return None
        progress.succeeded(f"{done} ({result.bytes / 1e6:.1f} MB, sha256 checked)")
        return result


def drop_zone(transfers: Transfers, host: ui.element) -> ui.upload:
    """A drop zone over ``host`` (a terminal's panel) that appears while files are dragged over it."""
    client = ui.context.client
    if client.id not in _STYLED:  # once per page, however many tabs it has
        _STYLED.add(client.id)
        client.on_delete(lambda: _STYLED.discard(client.id))
        ui.add_css(_DROP_CSS)
    host.classes("ssmux-drop-host")
    host.on("dragenter", js_handler=_DRAG_JS)
    host.on("dragover", js_handler=_DRAG_JS)

    async def dropped(event: UploadEventArguments) -> None:
        folder = Path(tempfile.mkdtemp(prefix="ssmux-drop-"))
        try:
            path = folder / _safe_name(event.file.name)
            await event.file.save(path)
            await transfers.upload(path)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    with host:
        zone = (
            ui.upload(on_upload=dropped, multiple=True, auto_upload=True, label=f"Drop to upload to {HOME}")
            .props("flat bordered color=primary")
            .props(f':headers="{_UPLOAD_HEADERS_JS}"')
            .classes("ssmux-drop")
            .mark("transfer-drop")
        )
        zone.on("drop", js_handler="(e) => e.currentTarget.closest('.ssmux-drop-host')"
                ".classList.remove('ssmux-dragging')")  # fmt: skip
    return zone


def download_dialog(transfers: Transfers) -> ui.dialog:
    """The "Download…" dialog of a tab: a path on the target, then the file in the browser."""
    with ui.dialog() as dialog, ui.card().classes("w-[28rem]").mark("download-dialog"):
        ui.label(f"Download a file from {transfers.where}").classes("text-h6")
        path = (
            ui.input(f"Path on {transfers.where}", value=HOME)
            .props("autofocus")
            .classes("w-full")
            .mark("download-path")
        )
        ui.label("~/ is the home of the session's user. Folders: ssmux cp -r.").classes("text-caption")

        async def start() -> None:
            wanted = path.value.strip()
            if not wanted or wanted.endswith("/"):
                path.props("error error-message='Give the path of a file'")
                return
            dialog.close()
            folder = Path(tempfile.mkdtemp(prefix="ssmux-download-"))
            try:
                got = await transfers.download(wanted, folder)
                if got is not None:
                    await hand_to_browser(got)
            finally:
                await asyncio.to_thread(shutil.rmtree, folder, True)

        path.on("keydown.enter", start)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat").mark("download-cancel")
            ui.button("Download", on_click=start).mark("download-start")
    dialog.open()
    return dialog


async def hand_to_browser(path: Path) -> None:
    """Give the browser the file ``path`` as a download (it reads it from disk, once), then forget it."""
    import json
    import urllib.parse

    from nicegui import app

    url = app.add_static_file(local_file=path, single_use=True)
    script = f"({_FETCH_JS})({json.dumps(url)}, {json.dumps(path.name)})"
    try:
        status = await ui.run_javascript(script, timeout=FETCH_TIMEOUT)
    except TimeoutError:
        status = "no answer"
    finally:  # single-use routes go once fetched; this one too if it never was
        app.remove_route(urllib.parse.unquote(url))
    if status not in (200, None):  # None: the page went meanwhile, nobody to tell
        ui.notify(f"The browser could not fetch {path.name} from the app ({status}): try again",
                  type="negative", multi_line=True)  # fmt: skip


def _safe_name(name: str) -> str:
    """The base name of an uploaded file (a browser sends a name, never a path; this makes sure)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base if base not in ("", ".", "..") else "upload"


def _app_words(message: str) -> str:
    """The CLI's advice in the app's terms (no -r here: the dialog downloads one file)."""
    return message.replace("use -r to copy it", "download a file, or use ssmux cp -r for folders")
