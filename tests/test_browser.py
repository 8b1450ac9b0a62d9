"""The ``skdigits serve`` page in a real browser: headless Chromium, Selenium.

The server runs as a user starts it (``skdigits serve MODEL --port 0``, a
subprocess); digits are drawn on the canvas with pointer strokes (mouse,
pen and touch) and dropped as a file, and the page must show the right
prediction. Screenshots go to ``$SKDIGITS_ARTIFACTS`` (CI prints the paths),
else to pytest's temporary folder.
"""

import base64
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

INSTALL = (
    "needs Chromium and its driver: `apt-get install chromium chromium-driver` "
    "on Debian (.ci/run does this as root) and `pip install selenium`"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if CHROMIUM is None or DRIVER is None:
    pytest.skip(INSTALL, allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason=INSTALL)
pytest.importorskip("flask")
pytest.importorskip("waitress")

from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from skdigits import KerasMLPClassifier  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402

# Strokes as offsets from the centre of the 280x280 pad.
_ANGLES = np.linspace(0, 2 * np.pi, 30)
STROKES = {
    1: [(0, -90), (0, 90)],
    0: [(70 * np.cos(a), 95 * np.sin(a)) for a in _ANGLES],
    7: [(-70, -80), (70, -80), (-20, 90)],
}
POINTERS = {
    1: interaction.POINTER_MOUSE,
    0: interaction.POINTER_PEN,
    7: interaction.POINTER_TOUCH,
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = os.environ.get("SKDIGITS_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(serve_in_subprocess):
    X, y = load_mnist(return_X_y=True)
    model = KerasMLPClassifier(epochs=5, random_state=0).fit(X[:10_000], y[:10_000])
    return serve_in_subprocess(model)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1000,700")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=DRIVER), options=options
    )
    yield driver
    driver.quit()


def draw(driver, points, kind):
    """One stroke through ``points`` (offsets from the pad's centre, on a pad
    of 280 CSS pixels: scaled to the pad's size on the page)."""
    pad = driver.find_element(By.ID, "pad")
    scale = pad.size["width"] / 280
    actions = ActionBuilder(driver, mouse=PointerInput(kind, kind))
    pointer = actions.pointer_action
    x, y = points[0]
    pointer.move_to(pad, int(x * scale), int(y * scale)).pointer_down()
    for x, y in points[1:]:
        pointer.move_to(pad, int(x * scale), int(y * scale))
    pointer.pointer_up()
    actions.perform()


def answer(driver):
    """The page's prediction, once the answer to its last request is shown."""

    def settled(d):
        body = d.find_element(By.TAG_NAME, "body")
        state = body.get_attribute("data-state")
        sent, answered = (
            body.get_attribute("data-sent"),
            body.get_attribute("data-answered"),
        )
        return state in ("done", "error") and sent == answered and state

    state = WebDriverWait(driver, 30).until(settled)
    error = driver.find_element(By.ID, "error").text
    assert state == "done", error
    return driver.find_element(By.ID, "digit").text


@pytest.mark.parametrize("digit", [1, 0, 7])
def test_drawn_digit_is_recognised(browser, server, artifacts, digit):
    browser.get(server)
    draw(browser, STROKES[digit], POINTERS[digit])
    assert answer(browser) == str(digit)
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert len(bars) == 10
    best = browser.find_element(By.CSS_SELECTOR, "#bars .bar.best")
    assert best.get_attribute("data-label") == str(digit)
    shot = artifacts / f"serve-drawn-{digit}.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    # Clear empties the page.
    browser.find_element(By.ID, "clear").click()
    assert browser.find_element(By.ID, "digit").text == ""
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .bar") == []


def test_dropped_file_is_recognised(browser, server, artifacts):
    from PIL import Image, ImageDraw

    image = Image.new("L", (120, 160), 255)  # a dark 7 on light paper
    ImageDraw.Draw(image).line([(20, 20), (100, 20), (45, 145)], fill=0, width=12)
    data = io.BytesIO()
    image.save(data, format="JPEG")
    browser.get(server)
    browser.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const file = new File([bytes], "seven.jpg", {type: "image/jpeg"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        document.getElementById("pad").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        """,
        base64.b64encode(data.getvalue()).decode(),
    )
    assert answer(browser) == "7"
    browser.save_screenshot(str(artifacts / "serve-dropped-7.png"))


def test_dropped_text_file_shows_the_error(browser, server):
    browser.get(server)
    browser.execute_script(
        """
        const file = new File(["hello"], "notes.txt", {type: "text/plain"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        document.getElementById("pad").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        """
    )
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "error"
        )
    )
    assert "text/plain" in browser.find_element(By.ID, "error").text
    # The server is still there: a drawing after it is answered.
    draw(browser, STROKES[1], interaction.POINTER_MOUSE)
    assert answer(browser) == "1"


def test_a_tap_leaves_a_dot(browser, server):
    browser.get(server)
    draw(browser, [(0, 0)], interaction.POINTER_MOUSE)  # down and up, no move
    answer(browser)  # an answer, not "the image is blank"
    centre = browser.execute_script(
        """
        const pad = document.getElementById("pad");
        return Array.from(pad.getContext("2d").getImageData(140, 140, 1, 1).data);
        """
    )
    assert centre[:3] == [0, 0, 0]  # ink where the pen touched


def test_noise_is_shown_as_unsure(browser, server, artifacts):
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)
    data = io.BytesIO()
    Image.fromarray(noise).save(data, format="PNG")
    browser.get(server)
    browser.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const file = new File([bytes], "noise.png", {type: "image/png"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        document.getElementById("pad").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        """,
        base64.b64encode(data.getvalue()).decode(),
    )
    shown = answer(browser)
    body = browser.find_element(By.TAG_NAME, "body")
    assert body.get_attribute("data-unsure") == "1"
    assert shown.endswith("?")
    assert "does not look like a digit" in browser.find_element(By.ID, "note").text
    browser.save_screenshot(str(artifacts / "serve-noise-unsure.png"))


def test_phone_layout_shows_pad_digit_and_probabilities(browser, server, artifacts):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True},
    )
    try:
        browser.get(server)
        draw(browser, STROKES[7], interaction.POINTER_TOUCH)
        assert answer(browser) == "7"
        height = browser.execute_script("return window.innerHeight")
        width = browser.execute_script("return window.innerWidth")
        assert (width, height) == (390, 844)
        pad = browser.find_element(By.ID, "pad").rect
        assert pad["width"] >= 0.85 * width  # the pad takes the screen's width
        for element in ("digit", "bars"):
            rect = browser.find_element(By.ID, element).rect
            assert rect["y"] + rect["height"] <= height, element  # no scrolling
        scrolled = browser.execute_script(
            "return document.documentElement.scrollHeight"
        )
        assert scrolled <= height
        browser.save_screenshot(str(artifacts / "serve-phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_no_failed_requests_and_the_answer_time_is_measured(browser, server):
    browser.get_log("browser")  # forget earlier pages
    browser.get(server)
    draw(browser, STROKES[1], interaction.POINTER_MOUSE)
    assert answer(browser) == "1"
    failures = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert failures == []  # a 404 (for /favicon.ico, say) would show here
    latency = browser.find_element(By.TAG_NAME, "body").get_attribute("data-latency-ms")
    print(f"pen lift to answer: {float(latency):.1f} ms")
    assert float(latency) > 0
