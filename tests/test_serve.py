"""``skdigits serve``: the JSON API (good and bad input, concurrency)."""

import io
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("flask")
pytest.importorskip("waitress")
Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

from skdigits import KerasMLPClassifier  # noqa: E402
from skdigits._serve import MAX_BYTES, MAX_PIXELS, create_app  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402

# Strokes on a 280x280 white pad, as the page draws them.
_ANGLES = np.linspace(0, 2 * np.pi, 40)
STROKES = {
    1: [[(140, 50), (140, 230)]],
    0: [[(140 + 70 * np.cos(a), 140 + 95 * np.sin(a)) for a in _ANGLES]],
    7: [[(70, 60), (210, 60), (120, 230)]],
}


def picture(strokes, *, fmt="PNG", size=280):
    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    for line in strokes:
        pen.line([tuple(map(float, p)) for p in line], fill=0, width=18, joint="curve")
    data = io.BytesIO()
    image.save(data, format=fmt)
    return data.getvalue()


@pytest.fixture(scope="module")
def model():
    X, y = load_mnist(return_X_y=True)
    return KerasMLPClassifier(epochs=5, random_state=0).fit(X[:10_000], y[:10_000])


@pytest.fixture(scope="module")
def client(model):
    return create_app(model).test_client()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("digit", sorted(STROKES))
def test_predicts_drawn_digits(client, digit, fmt):
    mimetype = f"image/{fmt.lower()}"
    answer = client.post(
        "/predict", data=picture(STROKES[digit], fmt=fmt), content_type=mimetype
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["digit"] == digit
    assert body["classes"] == list(range(10))
    assert sum(body["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert body["probability"] == pytest.approx(max(body["probabilities"]), abs=1e-5)
    # What the model saw: the 28x28 MNIST-style field, light ink on dark.
    image = np.array(body["image"])
    assert image.shape == (28, 28)
    assert image.max() == 1 and image[0].max() == 0


def test_noise_and_doubt_are_answered_as_unsure(client):
    from skdigits._serve import SURE_AT, unsure

    noise = np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)
    data = io.BytesIO()
    Image.fromarray(noise).save(data, format="PNG")
    body = client.post(
        "/predict", data=data.getvalue(), content_type="image/png"
    ).get_json()
    assert body["unsure"] is True
    assert "does not look like a digit" in body["note"]
    drawn = client.post(
        "/predict", data=picture(STROKES[1]), content_type="image/png"
    ).get_json()
    assert drawn["unsure"] is (drawn["probability"] < SURE_AT)
    # The rule on its own: a digit's ink, and probabilities of either kind.
    row = np.zeros(784)
    row[300:400] = 1.0  # 13% of the field: as much ink as a usual digit
    classes = np.array(["a", "b", "c"])
    assert unsure(np.array([0.95, 0.03, 0.02]), row, classes) is None
    assert unsure(np.array([0.6, 0.3, 0.1]), row, classes) == (
        "not sure: it could also be b or c"
    )


def test_favicon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b'href="favicon.svg"' in client.get("/").data


def test_health_and_page(client):
    health = client.get("/health").get_json()
    assert health["status"] == "ok"
    assert health["model"] == "KerasMLPClassifier"
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert b'<canvas id="pad"' in page.data


def _huge_png():
    # A few hundred bytes that decode to more pixels than accepted.
    side = int(MAX_PIXELS**0.5) + 1
    data = io.BytesIO()
    Image.new("1", (side, side), 1).save(data, format="PNG")
    return data.getvalue()


BAD_REQUESTS = {
    "not an image": ("post", "/predict", b"hello", "image/png", 400, "not an image"),
    "empty body": ("post", "/predict", b"", "image/png", 400, "empty"),
    "empty drawing": ("post", "/predict", picture([]), "image/png", 400, "blank"),
    "truncated": (
        "post",
        "/predict",
        picture(STROKES[1])[:200],
        "image/png",
        400,
        "damaged",
    ),
    "too many pixels": ("post", "/predict", _huge_png, "image/png", 400, "pixels"),
    "wrong type": (
        "post",
        "/predict",
        picture(STROKES[1]),
        "text/plain",
        415,
        "text/plain",
    ),
    "no type": ("post", "/predict", picture(STROKES[1]), None, 415, "missing"),
    "oversized": (
        "post",
        "/predict",
        b"\0" * (MAX_BYTES + 1),
        "image/png",
        413,
        "larger",
    ),
    "wrong method": ("get", "/predict", None, None, 405, "GET is not allowed"),
    "post to the page": ("post", "/", b"x", "image/png", 405, "POST is not allowed"),
    "unknown path": ("get", "/nope", None, None, 404, "no such page"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
def test_bad_requests_get_json_4xx_and_the_next_request_works(client, case):
    method, path, data, mimetype, status, message = BAD_REQUESTS[case]
    data = data() if callable(data) else data
    kwargs = {"data": data} if data is not None else {}
    if mimetype is not None:
        kwargs["content_type"] = mimetype
    answer = getattr(client, method)(path, **kwargs)
    assert answer.status_code == status
    assert answer.is_json
    assert message in answer.get_json()["error"]
    good = client.post("/predict", data=picture(STROKES[7]), content_type="image/png")
    assert good.status_code == 200 and good.get_json()["digit"] == 7


def test_string_labels_answer_as_json():
    # Labels from pandas are often an object array of Python strings.
    X, y = load_mnist(return_X_y=True)
    names = "zero one two three four five six seven eight nine".split()
    labels = np.array(names, dtype=object)[y[:2_000]]
    est = KerasMLPClassifier(epochs=1, random_state=0).fit(X[:2_000], labels)
    answer = (
        create_app(est)
        .test_client()
        .post("/predict", data=picture(STROKES[1]), content_type="image/png")
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["classes"] == sorted(names)
    assert body["digit"] in names


def test_refuses_models_for_other_images(model):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    small = KerasMLPClassifier(epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="64 features"):
        create_app(small)
    with pytest.raises(ValueError, match="fitted classifier"):
        create_app(object())


def _post(url, data, mimetype="image/png"):
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": mimetype}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_concurrent_requests_answer_as_serial_ones(model, serve_in_subprocess):
    # A real Waitress server, started as a user starts it.
    url = serve_in_subprocess(model) + "predict"
    bodies = [picture(STROKES[d]) for d in sorted(STROKES)] + [b"junk"]
    serial = [_post(url, body) for body in bodies]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda b: _post(url, b), bodies * 8))
    assert parallel == serial * 8
    assert [status for status, _ in serial] == [200, 200, 200, 400]
