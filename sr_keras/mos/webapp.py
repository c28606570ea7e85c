"""The rating web app (Flask): blinded, one image at a time, calibration first; and the owner's
live results page.

Why Flask: a small, mature WSGI framework (Pallets; Flask 3 is maintained, documented, and on
every platform), enough for a handful of routes, a template and JSON, with Werkzeug's request
parsing and body-size limit doing the input hardening we would otherwise write ourselves.  It is
served by waitress (see `serve`): Flask's own server is for development only.

Routes (TOKEN is a rater's secret, OWNER the study owner's; both are printed by `sr-mos invite`):
  GET  /rate/TOKEN              the rating page (all state is on the server: closing the tab and
                                opening the link again resumes at the first unrated item)
  GET  /api/TOKEN/next          JSON: the rater's current item (opaque id, size, phase, anchor
                                score for calibration images) and their progress
  POST /api/TOKEN/rate          JSON {"item": ID, "score": 1..5}: stores one rating, answers
                                with the next item; refusals: 400 malformed, 403 unknown token or
                                another rater's item, 404 unknown item, 409 already rated / not the
                                current item, 413 body too large, 422 score not an integer 1-5
  GET  /image/TOKEN/ID.png      the image of the rater's *current* item only (403 otherwise)
  GET  /results/OWNER           live results (tables refresh every 15 s), figure, CSV/JSON
Nothing that reaches the browser names a method or a source file: ids are random, images are
PNGs without metadata named by id, and responses are `no-store` with `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

import json
import os
import re
import secrets

from flask import Flask, Response, abort, g, jsonify, render_template_string, request, send_file
from werkzeug.exceptions import HTTPException

from sr_keras.mos import database, study

MAX_BODY_BYTES = 1024  # a rating is ~60 bytes of JSON
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
SCORE_LABELS = {1: "Bad", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}


def create_app(study_dir: str) -> Flask:
    """The WSGI app of one study folder (made by `sr-mos create`)."""
    config = study.load_config(study_dir)
    database.connect(study_dir).close()  # fail now, with the folder's name, if there is no database
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_SORT_KEYS"] = False
    break_every = int(config.get("break_every", 0))

    def connection():
        if "db" not in g:
            g.db = database.connect(study_dir)
        return g.db

    @app.teardown_appcontext
    def close_connection(error):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.errorhandler(HTTPException)
    def http_error(error):
        return jsonify(error=error.description, status=error.code), error.code

    @app.after_request
    def headers(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"  # tokens are in the URLs
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        nonce = g.get("nonce")
        script = f"'nonce-{nonce}'" if nonce else "'none'"
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; img-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; script-src {script}"
        )
        return response

    def rater_or_403(token: str):
        rater = database.rater_by_token(connection(), token) if TOKEN_PATTERN.match(token) else None
        if rater is None:
            abort(403, "unknown rater token: use the link you were given")
        return rater

    def state(rater_id: int, token: str) -> dict:
        current = database.next_presentation(connection(), rater_id)
        done = database.progress(connection(), rater_id)
        result = {"done": current is None, "progress": {k: list(v) for k, v in done.items()}, "item": None}
        if current is not None:
            result["item"] = {
                "id": current["presentation_id"],
                "phase": current["phase"],
                "anchor": current["anchor"],
                "width": current["width"],
                "height": current["height"],
                "image": f"/image/{token}/{current['presentation_id']}.png",
            }
        return result

    @app.get("/")
    def index():
        return Response("sr-mos: open the personal link you were given.\n", mimetype="text/plain")

    @app.get("/rate/<token>")
    def rate_page(token):
        rater_or_403(token)
        g.nonce = secrets.token_urlsafe(12)
        return render_template_string(
            RATE_PAGE, token=token, nonce=g.nonce, labels=SCORE_LABELS, break_every=break_every
        )

    @app.get("/api/<token>/next")
    def next_item(token):
        rater = rater_or_403(token)
        return jsonify(state(rater["id"], token))

    @app.post("/api/<token>/rate")
    def rate(token):
        rater = rater_or_403(token)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"item", "score"}:
            abort(400, 'expected a JSON object {"item": ID, "score": 1..5}')
        item, score = body["item"], body["score"]
        if not isinstance(item, str) or not ID_PATTERN.match(item):
            abort(404, "no such item")
        try:
            database.record_rating(connection(), rater["id"], item, score)
        except database.RatingRefused as refused:
            abort(refused.status, refused.message)
        result = state(rater["id"], token)
        test_done = result["progress"]["test"][0]
        result["stored"] = True
        result["break_due"] = bool(break_every and test_done and test_done % break_every == 0 and not result["done"])
        return jsonify(result)

    @app.get("/image/<token>/<name>")
    def image(token, name):
        rater = rater_or_403(token)
        item = name[:-4] if name.endswith(".png") else ""
        if not ID_PATTERN.match(item):
            abort(404, "no such image")
        current = database.next_presentation(connection(), rater["id"])
        if current is None or current["presentation_id"] != item:
            abort(403, "only your current image can be shown")
        path = os.path.join(study_dir, current["file"])  # from the database, never from the URL
        return send_file(path, mimetype="image/png", max_age=0, conditional=False, etag=False)

    def owner_or_403(owner):
        expected = database.get_meta(connection(), "owner_token") or ""
        if not (TOKEN_PATTERN.match(owner) and secrets.compare_digest(owner, expected)):
            abort(403, "unknown owner token")

    @app.get("/results/<owner>")
    def results_page(owner):
        from sr_keras.mos import statistics

        owner_or_403(owner)
        ratings = database.all_ratings(connection())
        report = statistics.analyse(ratings, methods=config["methods"])
        return render_template_string(
            RESULTS_PAGE, report=report, counts=database.counts(connection()), owner=owner, config=config,
            tables=statistics.format_tables(report),
        )

    @app.get("/results/<owner>/figure.png")
    def results_figure(owner):
        from sr_keras.mos import figure, statistics

        owner_or_403(owner)
        report = statistics.analyse(database.all_ratings(connection()), methods=config["methods"])
        return Response(figure.distribution_png(report), mimetype="image/png")

    @app.get("/results/<owner>/ratings.<kind>")
    def results_ratings(owner, kind):
        from sr_keras.mos import statistics

        owner_or_403(owner)
        ratings = database.all_ratings(connection())
        if kind == "json":
            return Response(json.dumps(ratings, indent=1), mimetype="application/json")
        if kind == "csv":
            return Response(statistics.ratings_csv(ratings), mimetype="text/csv")
        abort(404, "ratings.csv or ratings.json")

    return app


def make_server(study_dir: str, host: str = "127.0.0.1", port: int = 8000, threads: int = 8):
    """A waitress server of the study (port 0: a free port, see `.effective_port`); `.run()` serves.

    waitress: a production WSGI server in pure Python (Pylons project, maintained, runs
    wherever Python does, no C extension, no fork), recommended by Flask's deployment docs; its
    thread pool serves concurrent raters, while Flask's development server is documented as not
    for production.  Body size is limited twice (waitress and Flask) to MAX_BODY_BYTES.
    """
    import waitress.server

    return waitress.server.create_server(
        create_app(study_dir), host=host, port=port, threads=threads, max_request_body_size=MAX_BODY_BYTES,
        ident="sr-mos", clear_untrusted_proxy_headers=True, channel_timeout=60,
    )


def serve(study_dir: str, host: str = "127.0.0.1", port: int = 8000, threads: int = 8) -> None:
    """Serve the study until interrupted (see `make_server`)."""
    make_server(study_dir, host, port, threads).run()


RATE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Image quality study</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font-family: system-ui, sans-serif; margin: 0; background: #808080; color: #111; }
 header { background: #eee; padding: 8px 16px; display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
 #bar { width: 240px; height: 10px; background: #ccc; border-radius: 5px; overflow: hidden; }
 #barfill { height: 100%; width: 0; background: #2a7; }
 #note { padding: 8px 16px; background: #ffd; min-height: 1.4em; }
 #stage { overflow: auto; padding: 16px; text-align: center; }
 #picture { max-width: none; max-height: none; image-rendering: auto; display: inline-block; visibility: hidden; }
 #scores { position: sticky; bottom: 0; background: #eee; padding: 10px; text-align: center; }
 #scores button { font-size: 18px; margin: 0 6px; padding: 8px 14px; min-width: 120px; }
 #scores button:disabled { opacity: .35; }
 #overlay { position: fixed; inset: 0; background: rgba(0,0,0,.7); display: none; align-items: center; justify-content: center; }
 #overlay div { background: #fff; padding: 32px; border-radius: 8px; max-width: 420px; text-align: center; }
 #error { color: #a00; }
</style></head>
<body>
<header><strong>Image quality study</strong>
 <span id="phase">Loading...</span><div id="bar"><div id="barfill"></div></div><span id="count"></span>
 <span id="error" role="alert"></span></header>
<div id="note">Rate each image from 1 (bad) to 5 (excellent) with the buttons or the keys 1-5.
 Images are shown at their native resolution: scroll if one is larger than the window.</div>
<div id="stage"><img id="picture" alt="image to rate"></div>
<div id="scores">{% for score, label in labels.items() %}
 <button type="button" id="score{{ score }}" data-score="{{ score }}" disabled>{{ score }} &middot; {{ label }}</button>{% endfor %}
</div>
<div id="overlay" role="dialog"><div><h2>Time for a short break</h2>
 <p>You have rated another {{ break_every }} images. Rest your eyes for a minute; your progress is saved.</p>
 <button type="button" id="resume">Continue</button></div></div>
<script nonce="{{ nonce }}">
"use strict";
const token = {{ token | tojson }};
let item = null, busy = true, onBreak = false;
const picture = document.getElementById("picture");
function show(state) {
  const p = state.progress, cal = p.calibration, test = p.test;
  if (state.done) {
    item = null; busy = true; picture.style.display = "none";
    document.getElementById("phase").textContent = "Finished";
    document.getElementById("note").textContent = "Thank you: all your ratings are saved. You can close this tab.";
    document.getElementById("count").textContent = test[0] + " / " + test[1];
    document.getElementById("barfill").style.width = "100%";
    setButtons(null); return;
  }
  item = state.item;
  const calibrating = item.phase === "calibration";
  document.getElementById("phase").textContent = calibrating ? "Calibration" : "Rating";
  const done = calibrating ? cal[0] : test[0], total = calibrating ? cal[1] : test[1];
  document.getElementById("count").textContent = (done + 1) + " / " + total;
  document.getElementById("barfill").style.width = (100 * done / Math.max(total, 1)) + "%";
  document.getElementById("note").textContent = calibrating
    ? "Calibration: this is an example of score " + item.anchor + " (" + ({1: "bad", 5: "excellent"}[item.anchor] || "") +
      "). Press " + item.anchor + " to continue."
    : "Rate this image from 1 (bad) to 5 (excellent) with the buttons or the keys 1-5.";
  setButtons(null);
  busy = true; picture.style.visibility = "hidden";
  // Native resolution: one image pixel per device pixel, whatever the zoom or screen density.
  const ratio = window.devicePixelRatio || 1;
  picture.style.width = (item.width / ratio) + "px"; picture.style.height = (item.height / ratio) + "px";
  picture.onload = () => { picture.style.visibility = "visible"; busy = false; setButtons(item); };
  picture.onerror = () => {  // e.g. rated meanwhile in another tab: show the current item instead
    document.getElementById("error").textContent = "This image is no longer current; loading the next one.";
    setTimeout(() => call("/next").then(show), 1000);
  };
  picture.src = item.image;
  if (state.break_due) { onBreak = true; document.getElementById("overlay").style.display = "flex"; }
}
function setButtons(current) {
  for (let s = 1; s <= 5; s++) {
    const allowed = current && (current.phase !== "calibration" || current.anchor === s);
    document.getElementById("score" + s).disabled = !allowed;
  }
}
async function call(path, body) {
  const response = await fetch("/api/" + encodeURIComponent(token) + path, body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}
async function rate(score) {
  if (busy || onBreak || !item) return;
  if (item.phase === "calibration" && score !== item.anchor) {
    document.getElementById("error").textContent = "This calibration image is a " + item.anchor + "."; return;
  }
  busy = true; setButtons(null);
  try { document.getElementById("error").textContent = ""; show(await call("/rate", {item: item.id, score: score})); }
  catch (error) { document.getElementById("error").textContent = error.message; show(await call("/next")); }
}
document.addEventListener("keydown", (event) => {
  if (event.repeat || event.ctrlKey || event.altKey || event.metaKey) return;
  const score = "12345".indexOf(event.key) + 1;
  if (score > 0) { event.preventDefault(); rate(score); }
});
for (let s = 1; s <= 5; s++) document.getElementById("score" + s).addEventListener("click", () => rate(s));
document.getElementById("resume").addEventListener("click", () => {
  onBreak = false; document.getElementById("overlay").style.display = "none";
});
call("/next").then(show).catch((error) => { document.getElementById("error").textContent = error.message; });
</script></body></html>
"""

RESULTS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MOS study results</title>
<meta http-equiv="refresh" content="15">
<style>
 body { font-family: system-ui, sans-serif; margin: 24px; }
 table { border-collapse: collapse; margin: 8px 0 20px; }
 td, th { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
 th { background: #eee; } td:first-child, th:first-child { text-align: left; }
 pre { background: #f6f6f6; padding: 8px; }
</style></head><body>
<h1>MOS study: live results</h1>
<p>{{ counts.raters }} raters ({{ counts.finished }} finished), {{ counts.ratings }} of {{ counts.presentations }}
 presentations rated. Sets: {{ config.sets | join(", ") }}. Methods: {{ config.methods | join(", ") }}.
 This page refreshes every 15 s.</p>
<h2>Mean opinion score (95% confidence interval)</h2>
<table><tr><th>method</th>{% for s in report.sets %}<th>{{ s }}</th>{% endfor %}<th>all</th><th>ratings</th></tr>
{% for m in report.methods %}<tr><td>{{ m }}</td>
{% for s in report.sets + ["all"] %}{% set c = report.mos.get(s, {}).get(m) %}
<td>{% if c %}{{ "%.2f"|format(c.mos) }} [{{ "%.2f"|format(c.ci_low) }}, {{ "%.2f"|format(c.ci_high) }}]{% else %}&ndash;{% endif %}</td>
{% endfor %}<td>{{ report.mos.get("all", {}).get(m, {}).get("ratings", 0) }}</td></tr>{% endfor %}</table>
<h2>Score distribution</h2>
<img src="/results/{{ owner }}/figure.png" alt="distribution of scores per method">
<h2>Pairwise significance, raters, test-retest</h2>
<pre>{{ tables }}</pre>
<p>Every rating: <a href="/results/{{ owner }}/ratings.csv">ratings.csv</a>,
 <a href="/results/{{ owner }}/ratings.json">ratings.json</a>.</p>
</body></html>
"""
