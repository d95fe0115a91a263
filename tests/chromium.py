"""A headless Chromium for tests, driven through the DevTools protocol: open pages, run
JavaScript, move the mouse.

Chromium is the Debian package (``/usr/bin/chromium``), started with its own empty
profile and without the background services that would try to reach the network, with a
fresh profile folder that the caller chooses. :func:`chromium_executable` says whether
one is installed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import websocket

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
]
START_TIMEOUT_S = 30


def chromium_executable() -> str | None:
    """The path of the installed Chromium, or None."""
    return shutil.which("chromium")


class Chromium:
    """One headless Chromium with one page; :meth:`call` sends a DevTools command to the
    page and returns its result."""

    def __init__(
        self, executable: str, profile: Path, width: int = 1280, height: int = 1600
    ) -> None:
        self.profile = profile
        self.process = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.exceptions: list[tuple[str, str]] = []
        """Uncaught JavaScript errors in the page since it was opened: (script URL,
        description)."""
        self.console_errors: list[str] = []
        """Errors the page logged to the console since it was opened (its scripts'
        ``console.error`` and the browser's own, such as a file that failed to load)."""
        self._next_id = 0
        try:
            self.socket = websocket.create_connection(
                self._page_socket_url(), timeout=60, suppress_origin=True
            )
            self.call("Runtime.enable")
            self.call("Page.enable")
            self.call("Log.enable")
        except BaseException:
            self.close()
            raise

    def _page_socket_url(self) -> str:
        """Wait for Chromium to write its DevTools port, then return the WebSocket
        address of its page."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Chromium exited with code {self.process.returncode} at start"
                )
            if port_file.is_file() and port_file.read_text().strip():
                port = port_file.read_text().split()[0]
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/json/list", timeout=10
                ) as response:
                    targets = json.load(response)
                pages = [target for target in targets if target["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.05)
        raise TimeoutError(
            f"Chromium wrote no DevTools port into {port_file} within "
            f"{START_TIMEOUT_S} s"
        )

    def call(self, method: str, **params: Any) -> dict:
        """Send one DevTools command and wait for its answer; events that arrive
        meanwhile are noted or dropped."""
        self._next_id += 1
        self.socket.send(
            json.dumps({"id": self._next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.socket.recv())
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                description = details.get("exception", {}).get(
                    "description", details.get("text", "")
                )
                self.exceptions.append((details.get("url", ""), description))
            if message.get("method") == "Runtime.consoleAPICalled":
                if message["params"]["type"] == "error":
                    self.console_errors.append(
                        " ".join(
                            str(arg.get("value", arg.get("description", "")))
                            for arg in message["params"]["args"]
                        )
                    )
            if message.get("method") == "Log.entryAdded":
                entry = message["params"]["entry"]
                if entry["level"] == "error":
                    self.console_errors.append(
                        f"{entry.get('url', '')}: {entry.get('text', '')}"
                    )
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited), as JSON
        data."""
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(
                f"JavaScript failed: {expression}\n{result['exceptionDetails']}"
            )
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 30) -> Any:
        """Evaluate ``expression`` until it is truthy; its value, or TimeoutError naming
        it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.02)
        raise TimeoutError(f"still false after {timeout_s} s: {expression}")

    def open(self, url: str) -> None:
        """Navigate to ``url`` and wait until the document has loaded."""
        self.exceptions.clear()
        self.console_errors.clear()
        self.call("Page.navigate", url=url)
        self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        )

    @contextlib.contextmanager
    def window(self, width: int, height: int = 900) -> Iterator[None]:
        """Lay pages out ``width`` CSS px wide (as a phone below 500 px) while the block
        runs, then as before."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 500,
        )
        try:
            yield
        finally:
            self.call("Emulation.clearDeviceMetricsOverride")

    def mouse(self, kind: str, x: float, y: float, pressed: bool = False) -> None:
        """A mouse event at page coordinates: ``kind`` is mousePressed, mouseMoved or
        mouseReleased."""
        button = "left" if pressed or kind != "mouseMoved" else "none"
        self.call(
            "Input.dispatchMouseEvent",
            type=kind,
            x=x,
            y=y,
            button=button,
            buttons=1 if pressed else 0,
            clickCount=1 if kind != "mouseMoved" else 0,
        )

    def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG."""
        data = self.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True
        )["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        """Stop this Chromium."""
        if getattr(self, "socket", None):
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
