"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by
Selenium, for the staff console's browser tests. Selenium's calls block, so each runs in a
thread: the console under test keeps serving on the test's event loop meanwhile."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.backends import services_required

T = TypeVar("T")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: where the tests also save the README's screenshots (unset: only under tmp_path)
SCREENSHOTS = os.environ.get("RSSBOT_SCREENSHOTS")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return (
                f"{path} not found: browser tests need Debian's chromium and chromium-driver "
                "(apt-get install -y chromium chromium-driver)"
            )
    return None


#: axe-core (npm), pinned in tests/browser/axe/package-lock.json
AXE_FOLDER = Path(__file__).parents[1] / "browser" / "axe"
AXE = AXE_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
#: the rules checked: WCAG 2.0 and 2.1, levels A and AA
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(
  (result) => done(result.violations.map((v) => `${v.id} (${v.impact}): ` +
    v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '))),
  (error) => done([`axe failed: ${error}`]));
"""


def axe_source() -> str:
    """axe-core's script, installed from the lock file with npm the first time."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "axe-core needs npm (Node 20) to be installed: npm ci in tests/browser/axe"
            if services_required():
                pytest.fail(message)
            pytest.skip(message)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=AXE_FOLDER, check=True
        )
    return AXE.read_text(encoding="utf-8")


def _detached(exc: Exception) -> bool:
    """The element's node has left the document (its page was replaced)."""
    from selenium.common.exceptions import StaleElementReferenceException

    return isinstance(
        exc, StaleElementReferenceException
    ) or "does not belong to the document" in str(exc)


class Browser:
    """One browser window on the console at ``base``."""

    def __init__(self, driver: Any, downloads: Path, shots: Path) -> None:
        self.driver, self.downloads, self.shots = driver, downloads, shots
        self.base = ""

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    async def open(self, path_or_url: str) -> None:
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        await self._run(lambda: self.driver.get(url))

    async def click(self, css: str, *, navigates: bool = True) -> None:
        """Click a button or link and wait for the page it loads (unless it downloads)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        def work() -> None:
            page = self.driver.find_element(By.TAG_NAME, "html")
            self.driver.find_element(By.CSS_SELECTOR, css).click()
            if not navigates:
                return

            def replaced(_: Any) -> bool:
                try:
                    page.is_enabled()
                except WebDriverException as exc:  # (Chromium words "stale" in two ways)
                    return _detached(exc)
                return False

            wait = WebDriverWait(self.driver, 60)
            wait.until(replaced)
            wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

        await self._run(work)

    async def fill(self, css: str, value: str) -> None:
        from selenium.webdriver.common.by import By

        def work() -> None:
            element = self.driver.find_element(By.CSS_SELECTOR, css)
            element.clear()
            element.send_keys(value)

        await self._run(work)

    async def upload(self, css: str, path: Path) -> None:
        """Choose a file in a file input."""
        from selenium.webdriver.common.by import By

        await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(str(path)))

    async def set_value(self, css: str, value: str) -> None:
        """Set a field's value as a date picker would (typing into one depends on the
        browser's locale)."""
        await self.script(f"document.querySelector({css!r}).value = {value!r}")

    async def choose(self, css: str, value: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        await self._run(
            lambda: Select(self.driver.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
        )

    async def text(self, css: str = "main") -> str:
        from selenium.webdriver.common.by import By

        return await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text)

    async def has(self, css: str) -> bool:
        from selenium.webdriver.common.by import By

        return bool(await self._run(lambda: self.driver.find_elements(By.CSS_SELECTOR, css)))

    async def attribute(self, css: str, name: str) -> str | None:
        from selenium.webdriver.common.by import By

        return await self._run(
            lambda: self.driver.find_element(By.CSS_SELECTOR, css).get_attribute(name)
        )

    async def path(self) -> str:
        from urllib.parse import urlparse

        return urlparse(await self._run(lambda: self.driver.current_url)).path

    async def script(self, source: str) -> Any:
        """Run JavaScript as a tampering user would (the console's pages have none)."""
        return await self._run(lambda: self.driver.execute_script(source))

    async def download_text(self, path: str) -> str:
        """What the signed-in browser downloads from ``path`` (a CSV export), as text (the
        console's pages allow no script to fetch: the download goes with its cookies)."""
        import aiohttp

        cookies = await self._run(lambda: self.driver.get_cookies())
        jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base + path, headers={"Cookie": jar}) as response,
        ):
            assert response.status == 200, response.status
            return (await response.read()).decode("utf-8-sig")

    async def wait_text(self, css: str, fragment: str, timeout: float = 30.0) -> str:
        """Wait until the element holds ``fragment`` (the page may reload meanwhile)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                last = await self.text(css)
            except Exception:  # (between two loads of a self-refreshing page)
                last = ""
            if fragment in last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"{css} never showed {fragment!r}; last: {last!r}")

    async def wait_download(self, suffix: str, timeout: float = 60.0) -> Path:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [p for p in self.downloads.iterdir() if p.name.endswith(suffix)]
            if done:
                return done[0]
            await asyncio.sleep(0.2)
        raise AssertionError(f"no {suffix} downloaded: {list(self.downloads.iterdir())}")

    async def screenshot(self, name: str, width: int = 1200) -> Path:
        """The whole page as PNG, under tmp_path (and RSSBOT_SCREENSHOTS when set)."""

        def work() -> Path:
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, min(max(int(height) + 40, 600), 2400))
            target = self.shots / f"{name}.png"
            self.driver.save_screenshot(str(target))
            if SCREENSHOTS:
                Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                shutil.copy(target, Path(SCREENSHOTS) / target.name)
            self.driver.set_window_size(width, 900)
            return target

        return await self._run(work)

    async def accessibility_violations(self) -> list[str]:
        """What axe-core finds against WCAG 2.1 AA on the page shown (empty: none)."""
        source = axe_source()

        def work() -> list[str]:
            self.driver.execute_script(source)
            self.driver.set_script_timeout(60)
            return list(self.driver.execute_async_script(RUN_AXE, WCAG_AA))

        return await self._run(work)

    async def resize(self, width: int, height: int = 900) -> None:
        await self._run(lambda: self.driver.set_window_size(width, height))

    async def misplaced_numbers(self) -> list[str]:
        """Each number of a table (``td.n``) whose text does not sit under its column's
        header text (horizontally), as "table: header / number"; empty when all do."""
        return list(await self.script(MISPLACED_NUMBERS))

    async def overflowing(self) -> list[str]:
        """Elements of the page wider than the window (sideways scrolling of the page)."""
        return list(await self.script(OVERFLOWING))

    def forget_cookies(self) -> None:
        self.driver.delete_all_cookies()


MISPLACED_NUMBERS = """
const box = (node) => { const r = document.createRange(); r.selectNodeContents(node);
  return r.getBoundingClientRect(); };
const out = [];
for (const cell of document.querySelectorAll('td.n')) {
  const table = cell.closest('table');
  const head = table.rows[0].cells[cell.cellIndex];
  if (!head || !cell.textContent.trim()) continue;
  const a = box(head), b = box(cell);
  if (Math.max(a.left, b.left) >= Math.min(a.right, b.right)) {
    out.push(`${table.id}: ${head.textContent.trim()} / ${cell.textContent.trim()}`);
  }
}
return out;
"""
OVERFLOWING = """
const width = document.documentElement.clientWidth; const out = [];
for (const node of document.querySelectorAll('body *')) {
  if (node.closest('.table-scroll')) continue;
  const r = node.getBoundingClientRect();
  if (r.width && (r.right > width + 1 || r.left < -1)) out.push(node.tagName + '#' + node.id);
}
return out;
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    missing = _missing()
    if missing is not None:
        if services_required():  # (CI installs them: a missing browser is a failure there)
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads, shots = tmp_path / "downloads", tmp_path / "screenshots"
    downloads.mkdir()
    shots.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        "--lang=en",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "en",
        },
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield Browser(driver, downloads, shots)
    finally:
        driver.quit()
