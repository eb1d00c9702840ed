"""The consent page in a real browser: headless Chromium through chromedriver (Selenium), with
JavaScript switched off, at a phone's width.  Skips when no browser is installed."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from ontraport_mcp.sandbox.testing import SandboxServer, free_port
from tests.conftest import missing_binary
from tests.oauth.flow import OAuthApp, Served, authorize_params, exchange, new_verifier, register

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=390,844",  # narrow: the smallest window headless Chromium gives
)

if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    missing_binary(
        f"headless Chromium tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian: apt-get install chromium chromium-driver)",
        module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="pip install 'selenium>=4.20,<5'")
from selenium.webdriver.common.by import By  # noqa: E402


class Callback:
    """The client's redirect target on 127.0.0.1: a page that says "done"."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/callback"
        self._served = Served(self.app, self.port)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"<!doctype html><title>done</title><p>done</p>"}
        )

    def __enter__(self) -> Callback:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def callback() -> Iterator[Callback]:
    with Callback() as server:
        yield server


def _wait_for(driver: object, prefix: str) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        url = str(driver.current_url)  # type: ignore[attr-defined]
        if url.startswith(prefix):
            return url
        time.sleep(0.05)
    raise AssertionError(f"the browser did not reach {prefix}; it is at {driver.current_url}")  # type: ignore[attr-defined]


def _wait_text(driver: object, text: str) -> str:
    """The page's text once it contains ``text`` (the form post navigates: wait for it)."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + 15
    body = ""
    while time.monotonic() < deadline:
        try:
            body = str(driver.find_element(By.TAG_NAME, "body").text)  # type: ignore[attr-defined]
        except WebDriverException:
            body = ""
        if text in body:
            return body
        time.sleep(0.05)
    raise AssertionError(f"the page never said {text!r}: {body[:300]}")


def _fill(driver: object, app_id: str, api_key: str, access: str) -> None:
    find = driver.find_element  # type: ignore[attr-defined]
    find(By.NAME, "app_id").clear()
    find(By.NAME, "app_id").send_keys(app_id)
    find(By.NAME, "api_key").send_keys(api_key)
    find(By.CSS_SELECTOR, f'input[name="access"][value="{access}"]').click()
    find(By.CSS_SELECTOR, 'button[value="approve"]').click()


def test_consent_in_chromium_without_javascript(
    browser: object, oauth_app: OAuthApp, sandbox: SandboxServer, callback: Callback, resource: str
) -> None:
    with httpx.Client(base_url=oauth_app.url) as http:
        client_id = register(http, redirect=callback.url, name="Browser Test Client")
        verifier = new_verifier()
        params = authorize_params(
            client_id, verifier, resource, redirect=callback.url, state="xyz-789"
        )
        browser.get(f"{oauth_app.url}/authorize?{urlencode(params)}")  # type: ignore[attr-defined]
        body = browser.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        assert "Browser Test Client" in body and f"127.0.0.1:{callback.port}" in body
        # readable on a narrow screen: the fields use the width and nothing overflows it
        page = browser.find_element(By.TAG_NAME, "html").rect  # type: ignore[attr-defined]
        field = browser.find_element(By.NAME, "api_key").rect  # type: ignore[attr-defined]
        assert page["width"] <= 600 and field["width"] >= page["width"] * 0.6
        assert field["x"] + field["width"] <= page["width"]
        assert browser.find_element(By.NAME, "api_key").get_attribute("type") == "password"  # type: ignore[attr-defined]

        # Ontraport refuses: the page says so and asks again, the key not echoed
        _fill(browser, sandbox.app_id, "not-the-key", "write")
        _wait_text(browser, "Ontraport refused these credentials")
        assert "not-the-key" not in browser.page_source  # type: ignore[attr-defined]

        _fill(browser, sandbox.app_id, sandbox.api_key, "write")
        landed = _wait_for(browser, callback.url)
        query = {name: values[0] for name, values in parse_qs(urlsplit(landed).query).items()}
        assert query["state"] == "xyz-789" and query["iss"] == oauth_app.url
        assert query["code"].startswith("omcp_ac_")
        tokens = exchange(
            http, client_id, query["code"], verifier, resource, redirect_uri=callback.url
        )
        assert tokens.status_code == 200 and tokens.json()["scope"] == "ontraport:write"


def test_consent_page_refuses_to_be_framed(
    browser: object, oauth_app: OAuthApp, resource: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=oauth_app.url) as http:
        client_id = register(http)
        url = f"{oauth_app.url}/authorize?{urlencode(authorize_params(client_id, new_verifier(), resource))}"
    frame_page = tmp_path / "frame.html"
    frame_page.write_text(
        f'<!doctype html><iframe id="f" src="{url}" width="400" height="400"></iframe>'
    )
    browser.get(frame_page.as_uri())  # type: ignore[attr-defined]
    time.sleep(1.0)
    frame = browser.find_element(By.ID, "f")  # type: ignore[attr-defined]
    browser.switch_to.frame(frame)  # type: ignore[attr-defined]
    assert browser.find_elements(By.NAME, "api_key") == []  # type: ignore[attr-defined]
