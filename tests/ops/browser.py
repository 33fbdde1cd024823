"""Headless Chromium driven through chromedriver's W3C WebDriver API (urllib only).

Debian's ``chromium`` and ``chromium-driver`` packages (scripts/setup).  A
fresh profile per browser; the driver listens on a free port of 127.0.0.1.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(Exception):
    pass


def available():
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


class Browser:
    def __init__(self, width=1280, height=1000):
        from sched.apache import free_port
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.port = free_port()
        self.log = open(os.path.join(self.profile, "chromedriver.log"), "wb")
        self.driver = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                       stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/status")
                break
            except (OSError, WebDriverError):
                if time.monotonic() > deadline or self.driver.poll() is not None:
                    self.close()
                    raise WebDriverError("chromedriver did not start")
                time.sleep(0.1)
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + os.path.join(self.profile, "data"),
                "--window-size=%d,%d" % (width, height)]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except BaseException:
            self.close()
            raise

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                reply = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            raise WebDriverError("%s %s: %s %s" % (method, path, exc.code, text[:500])) from None
        return reply.get("value", reply)

    def cmd(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path), body)

    # -- what a person does
    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    @property
    def url(self):
        return self.cmd("GET", "/url")

    @property
    def title(self):
        return self.cmd("GET", "/title")

    def source(self):
        return self.cmd("GET", "/source")

    def text(self, css="body"):
        return self.cmd("GET", "/element/%s/text" % self.find(css))

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.cmd("POST", "/elements",
                                             {"using": "css selector", "value": css})]

    def click(self, css):
        self.cmd("POST", "/element/%s/click" % self.find(css), {})

    def click_and_load(self, css, timeout=60):
        """Click something that loads a new page (a form's button) and wait
        until the new page is there."""
        self.script("window.__before_click = true")
        self.click(css)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.script("return !window.__before_click && "
                               "document.readyState === 'complete'"):
                    return
            except WebDriverError:
                pass                # between two pages
            if time.monotonic() > deadline:
                raise WebDriverError("no new page after clicking %s" % css)
            time.sleep(0.05)

    def type(self, css, text):
        element = self.find(css)
        self.cmd("POST", "/element/%s/clear" % element, {})
        self.cmd("POST", "/element/%s/value" % element, {"text": text})

    def script(self, source, *args):
        return self.cmd("POST", "/execute/sync", {"script": source, "args": list(args)})

    def screenshot(self, path, full_page=True):
        """Save a PNG of the page (grown to the page's height first)."""
        if full_page:
            height = self.script("return Math.min(document.documentElement.scrollHeight, 8000)")
            self.cmd("POST", "/window/rect", {"width": 1280, "height": int(height) + 120})
        data = base64.b64decode(self.cmd("GET", "/screenshot"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        if full_page:
            self.cmd("POST", "/window/rect", {"width": 1280, "height": 1000})
        return path

    def close(self):
        try:
            if getattr(self, "session", None):
                self._call("DELETE", "/session/%s" % self.session)
        except (OSError, WebDriverError):
            pass
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(20)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
