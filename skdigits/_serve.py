"""``skdigits serve``: a page to draw digits on, and a JSON API beside it.

Flask routes the requests and Waitress serves them (both from the ``serve``
extra): Waitress is a pure-Python production WSGI server with a thread
pool, on every platform, and Flask's ``MAX_CONTENT_LENGTH`` refuses
oversized bodies before they are read.
"""

import io
import time
from importlib import resources

import numpy as np

# A drawing or a photo of one digit is far below both limits.
MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
IMAGE_TYPES = ("image/png", "image/jpeg")
_SIDE = 28  # the MNIST field that skdigits.images makes

# When an answer is shown as unsure (see ``unsure``): the model gives its
# digit less than SURE_AT, or the ink covers more of the 28x28 field than
# in any MNIST digit. Measured on the 60,000 MNIST training digits: pixels
# above one half cover 13% of the field at the median, 29% at the 99.9th
# percentile and 39.8% at most; a picture of random noise covers 51%.
SURE_AT = 0.9
MAX_INK = 0.4
_FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#1a73e8"/>'
    '<text x="8" y="12.5" font-size="12" text-anchor="middle" fill="#fff" '
    'font-family="sans-serif">7</text></svg>'
)


def unsure(proba, row, classes):
    """Why an answer should not look confident, or None.

    ``proba`` are the probabilities of ``classes``, ``row`` the 784 pixels
    the model saw.
    """
    ink = float(np.mean(row > 0.5))
    if ink > MAX_INK:
        return (
            f"this does not look like a digit: ink covers {ink:.0%} of the "
            "field, more than in any MNIST digit"
        )
    order = np.argsort(proba)[::-1]
    if proba[order[0]] >= SURE_AT:
        return None
    others = [str(classes[i]) for i in order[1:3] if proba[i] >= 0.05]
    if not others:
        return f"not sure (probability {proba[order[0]]:.2f})"
    return f"not sure: it could also be {' or '.join(others)}"


def check_model(model):
    """Raise a ``ValueError`` unless ``model`` classifies 28x28 digit rows."""
    if not hasattr(model, "predict_proba") or not hasattr(model, "classes_"):
        raise ValueError(f"a fitted classifier is needed, got {type(model).__name__}")
    n_features = getattr(model, "n_features_in_", _SIDE * _SIDE)
    if n_features != _SIDE * _SIDE:
        raise ValueError(
            f"the model takes {n_features} features, but the page sends "
            f"{_SIDE}x{_SIDE} = {_SIDE * _SIDE}-pixel MNIST-style digits"
        )


def predict_digit(model, data):
    """The answer of ``POST /predict`` for the image bytes ``data``.

    Raises a ``ValueError`` that says what is wrong with the image.
    """
    from skdigits.images import load_digit

    if not data:
        raise ValueError("the request body is empty: send PNG or JPEG bytes")
    row = load_digit(io.BytesIO(data), max_pixels=MAX_PIXELS)
    proba = model.predict_proba(row[np.newaxis])[0]
    best = int(np.argmax(proba))
    # tolist gives Python values for any dtype (ints, strings, objects).
    classes = model.classes_.tolist()
    why = unsure(proba, row, classes)
    return {
        "digit": classes[best],
        "probability": float(proba[best]),
        "unsure": why is not None,
        "note": why or f"probability {proba[best]:.2f}",
        "classes": classes,
        "probabilities": [round(float(p), 6) for p in proba],
        # What the model received, row by row, so the page can show it.
        "image": np.round(row.reshape(_SIDE, _SIDE), 3).tolist(),
    }


def create_app(model):
    """The Flask application serving ``model`` (fitted, 784 features).

    Routes: ``GET /`` (the drawing page), ``GET /favicon.svg``, ``GET
    /health``, ``POST /predict`` (PNG or JPEG bytes in the body). Every
    error is a JSON object ``{"error": message}`` with a 4xx status.
    """
    from flask import Flask, jsonify, request
    from werkzeug.exceptions import HTTPException

    check_model(model)
    app = Flask("skdigits.serve")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BYTES
    page = resources.files("skdigits").joinpath("serve.html").read_text("utf-8")
    started = time.time()

    @app.errorhandler(HTTPException)
    def http_error(exc):
        messages = {
            404: "no such page: use /, /health or POST /predict",
            405: f"{request.method} is not allowed on {request.path}",
            413: f"the request body is larger than {MAX_BYTES:,} bytes",
        }
        message = messages.get(exc.code, exc.description)
        return jsonify(error=message), exc.code

    @app.get("/")
    def index():
        return page, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/favicon.svg")
    @app.get("/favicon.ico")
    def favicon():
        return _FAVICON, 200, {"Content-Type": "image/svg+xml"}

    @app.get("/health")
    def health():
        return jsonify(
            status="ok",
            model=type(model).__name__,
            classes=model.classes_.tolist(),
            uptime_s=round(time.time() - started, 1),
        )

    @app.post("/predict")
    def predict():
        if request.mimetype not in IMAGE_TYPES:
            return jsonify(
                error=f"Content-Type {request.mimetype or 'missing'!s} is not "
                f"accepted: send {' or '.join(IMAGE_TYPES)}"
            ), 415
        try:
            answer = predict_digit(model, request.get_data(cache=False))
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(answer)

    return app


def warm(model):
    """One prediction through the whole path (PNG decoding, preprocessing,
    the model), so that the first request pays no start-up cost."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (56, 56), 255)
    ImageDraw.Draw(picture).line([(28, 8), (28, 48)], fill=0, width=6)
    data = io.BytesIO()
    picture.save(data, format="PNG")
    predict_digit(model, data.getvalue())


def make_server(model, *, host="127.0.0.1", port=8000, threads=4):
    """A Waitress server for ``model``, warmed and bound, not yet running.

    ``port=0`` picks a free port: read it from ``server.effective_port``.
    Call ``server.run()`` to serve, ``server.close()`` to stop.
    """
    import waitress

    app = create_app(model)
    warm(model)
    return waitress.create_server(app, host=host, port=port, threads=threads)


def serve(model, *, host="127.0.0.1", port=8000, threads=4, announce=print):
    """Serve ``model`` until interrupted."""
    server = make_server(model, host=host, port=port, threads=threads)
    url = f"http://{host}:{server.effective_port}/"
    announce(f"Serving {type(model).__name__} at {url} (Ctrl+C stops)")
    try:
        server.run()
    finally:
        server.close()
