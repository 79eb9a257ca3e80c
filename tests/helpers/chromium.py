"""Open pages in headless Chromium and report what a reader would meet: console errors,
images that did not decode, and a screenshot. Test helper (not collected by pytest).

Chromium is driven over the Chrome DevTools Protocol (``--remote-debugging-port``) with
the ``websocket-client`` package: ``Runtime``/``Log`` events give console errors,
uncaught exceptions and blocked or failed loads; ``Runtime.evaluate`` reads every
``<img>``'s ``naturalWidth``; ``Page.captureScreenshot`` takes the full page.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_IMAGES = (
    "JSON.stringify(Array.from(document.images).map(i => "
    "({complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, "
    "src: i.getAttribute('src').slice(0, 40)})))"
)


def find_chromium() -> Optional[str]:
    """Path of a Chromium/Chrome binary, or None."""
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What loading one page gave."""

    errors: List[str] = field(default_factory=list)
    images: List[Dict[str, Any]] = field(default_factory=list)
    screenshot: bytes = b""


class HeadlessChromium:
    """One headless browser with one tab; ``check(path)`` loads a file and reports on it."""

    def __init__(self, binary: str, timeout: float = 20.0) -> None:
        import websocket  # websocket-client, a test dependency

        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="eli5k-chromium-")
        self.process = subprocess.Popen(
            [
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
                "--remote-allow-origins=*", f"--user-data-dir={self.profile}", "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as response:
            pages = [t for t in json.load(response) if t.get("type") == "page"]
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout,
                                                  suppress_origin=True)
        self._next_id = 0
        self._events: List[Dict[str, Any]] = []
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")

    def _port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.process.returncode} at start")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params: Any) -> Dict[str, Any]:
        """Send one DevTools command and return its result (events seen meanwhile are kept)."""
        self._next_id += 1
        self.socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def _wait_for(self, event: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == event for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} within {self.timeout} s")
            self._events.append(json.loads(self.socket.recv()))

    def check(self, path: Path, screenshot: Optional[Path] = None) -> PageReport:
        """Load ``path``; collect errors and images; save a full-page screenshot."""
        self._events = []
        self.call("Page.navigate", url=Path(path).resolve().as_uri())
        self._wait_for("Page.loadEventFired")
        images = json.loads(self.call("Runtime.evaluate", expression=_IMAGES, returnByValue=True)["result"]["value"])
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True,
            clip=dict(x=0, y=0, width=size["width"], height=size["height"], scale=1),
        )
        report = PageReport(errors=_errors(self._events), images=images, screenshot=base64.b64decode(shot["data"]))
        if screenshot is not None:
            Path(screenshot).write_bytes(report.screenshot)
        return report

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


def _errors(events: List[Dict[str, Any]]) -> List[str]:
    """Console errors, uncaught exceptions and error log entries (failed or blocked loads)."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log ({params['entry'].get('source')}): {params['entry'].get('text')}")
    return found
