"""The study's SQLite store: stimuli, raters, presentations and ratings.

One file, ``STUDY/study.sqlite``, in WAL mode (readers never block the writer, a crashed server
loses nothing it acknowledged: every rating is its own committed transaction before the HTTP
answer leaves) with ``synchronous=FULL`` (the commit is on disk, not only in the OS cache).

The rules of the study are constraints of the schema, so no code path can break them:
  * a score is an INTEGER from 1 to 5 (STRICT tables: a real such as 3.5 is refused, not stored);
  * a rating names a presentation *and* its rater, and the pair must exist in `presentations`
    (a composite foreign key): a rater cannot rate an item assigned to someone else;
  * one rating per presentation (the presentation is the rating's primary key); a test-retest
    duplicate is a second presentation of the same stimulus, so it is rated separately.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time

DATABASE_NAME = "study.sqlite"
SCORES = (1, 2, 3, 4, 5)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS stimuli (
    id TEXT PRIMARY KEY,                       -- opaque, random: the only name the browser sees
    phase TEXT NOT NULL CHECK (phase IN ('calibration', 'test')),
    method TEXT NOT NULL,                      -- 'nearest', 'bicubic', 'HR', a model name
    image_set TEXT NOT NULL,                   -- e.g. 'Set5'; 'calibration' for anchors
    image TEXT NOT NULL,                       -- source file name (stem) inside the set
    file TEXT NOT NULL,                        -- path relative to the study folder
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    anchor INTEGER CHECK (anchor IS NULL OR anchor BETWEEN 1 AND 5)   -- calibration score
) STRICT;
CREATE TABLE IF NOT EXISTS raters (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS presentations (
    id TEXT PRIMARY KEY,                       -- opaque, random
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    position INTEGER NOT NULL,                 -- 0-based order in which the rater sees it
    stimulus_id TEXT NOT NULL REFERENCES stimuli(id),
    repeat INTEGER NOT NULL CHECK (repeat IN (0, 1)),   -- 1: the test-retest duplicate
    UNIQUE (rater_id, position),
    UNIQUE (id, rater_id)
) STRICT;
CREATE TABLE IF NOT EXISTS ratings (
    presentation_id TEXT PRIMARY KEY,
    rater_id INTEGER NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    rated_at REAL NOT NULL,
    FOREIGN KEY (presentation_id, rater_id) REFERENCES presentations(id, rater_id)
) STRICT;
CREATE INDEX IF NOT EXISTS presentations_by_rater ON presentations (rater_id, position);
"""


class StudyError(ValueError):
    """A study folder or database that is missing or inconsistent; the message names it."""


def database_path(study_dir: str) -> str:
    return os.path.join(study_dir, DATABASE_NAME)


def connect(study_dir: str, create: bool = False) -> sqlite3.Connection:
    """Open the study's database (WAL, synchronous=FULL, foreign keys on, 10 s busy timeout).

    Connections are cheap: the web app opens one per request, so threads never share one.
    `isolation_level=None` leaves transactions to the explicit BEGIN IMMEDIATE ... COMMIT of
    each write.
    """
    path = database_path(study_dir)
    if not create and not os.path.isfile(path):
        raise StudyError(f"{study_dir}: not a study folder (no {DATABASE_NAME}; make one with `sr-mos create`)")
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=10000")
    if create:
        connection.executescript(SCHEMA)
    return connection


@dataclasses.dataclass(frozen=True)
class Stimulus:
    id: str
    phase: str
    method: str
    image_set: str
    image: str
    file: str
    width: int
    height: int
    anchor: int | None = None


def insert_stimuli(connection: sqlite3.Connection, stimuli: list[Stimulus]) -> None:
    with transaction(connection):
        connection.executemany(
            "INSERT INTO stimuli (id, phase, method, image_set, image, file, width, height, anchor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dataclasses.astuple(s) for s in stimuli],
        )


def stimuli(connection: sqlite3.Connection, phase: str | None = None) -> list[Stimulus]:
    query = "SELECT id, phase, method, image_set, image, file, width, height, anchor FROM stimuli"
    rows = connection.execute(query + (" WHERE phase = ?" if phase else "") + " ORDER BY id", (phase,) if phase else ())
    return [Stimulus(*tuple(row)) for row in rows]


class transaction:
    """`with transaction(connection):` BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception.

    IMMEDIATE takes the write lock at BEGIN, so a check-then-insert inside it cannot race
    another writer (the second waits up to the busy timeout).
    """

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self):
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind, value, traceback):
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


def set_meta(connection: sqlite3.Connection, key: str, value: str) -> None:
    with transaction(connection):
        connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def get_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def add_rater(connection: sqlite3.Connection, token: str, presentations: list[tuple[str, str, int]]) -> int:
    """Add one rater and their presentation list [(presentation_id, stimulus_id, repeat), ...] in order."""
    with transaction(connection):
        rater_id = connection.execute(
            "INSERT INTO raters (token, created_at) VALUES (?, ?)", (token, time.time())
        ).lastrowid
        connection.executemany(
            "INSERT INTO presentations (id, rater_id, position, stimulus_id, repeat) VALUES (?, ?, ?, ?, ?)",
            [(pid, rater_id, position, sid, repeat) for position, (pid, sid, repeat) in enumerate(presentations)],
        )
    return rater_id


def raters(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    return connection.execute("SELECT id, token FROM raters ORDER BY id").fetchall()


def rater_by_token(connection: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    return connection.execute("SELECT id, token FROM raters WHERE token = ?", (token,)).fetchone()


PRESENTATION_COLUMNS = (
    "p.id AS presentation_id, p.position, p.repeat, s.id AS stimulus_id, s.phase, s.method, s.image_set, "
    "s.image, s.file, s.width, s.height, s.anchor"
)


def next_presentation(connection: sqlite3.Connection, rater_id: int) -> sqlite3.Row | None:
    """The rater's first unrated presentation in their order (None when they are done)."""
    return connection.execute(
        f"SELECT {PRESENTATION_COLUMNS} FROM presentations p JOIN stimuli s ON s.id = p.stimulus_id "
        "WHERE p.rater_id = ? AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.presentation_id = p.id) "
        "ORDER BY p.position LIMIT 1",
        (rater_id,),
    ).fetchone()


def progress(connection: sqlite3.Connection, rater_id: int) -> dict:
    """{'calibration': (done, total), 'test': (done, total)} for one rater."""
    rows = connection.execute(
        "SELECT s.phase, COUNT(*) AS total, COUNT(r.presentation_id) AS done FROM presentations p "
        "JOIN stimuli s ON s.id = p.stimulus_id LEFT JOIN ratings r ON r.presentation_id = p.id "
        "WHERE p.rater_id = ? GROUP BY s.phase",
        (rater_id,),
    ).fetchall()
    result = {"calibration": (0, 0), "test": (0, 0)}
    for row in rows:
        result[row["phase"]] = (row["done"], row["total"])
    return result


class RatingRefused(Exception):
    """A rating that the study's rules refuse; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def record_rating(connection: sqlite3.Connection, rater_id: int, presentation_id: str, score: int) -> None:
    """Store one rating in its own transaction, or raise RatingRefused (nothing stored).

    The presentation must be this rater's *current* one (their first unrated presentation: the
    order is part of the design, and calibration comes first); a calibration image must be given
    its anchor score (the rater acknowledges the anchor).  The schema's constraints hold the
    same rules again at the storage level.
    """
    if type(score) is not int or score not in SCORES:
        raise RatingRefused(422, f"score must be an integer from 1 to 5, got {score!r}")
    with transaction(connection):
        owner = connection.execute("SELECT rater_id FROM presentations WHERE id = ?", (presentation_id,)).fetchone()
        if owner is None:
            raise RatingRefused(404, "no such item")
        if owner[0] != rater_id:
            raise RatingRefused(403, "this item is not assigned to you")
        if connection.execute("SELECT 1 FROM ratings WHERE presentation_id = ?", (presentation_id,)).fetchone():
            raise RatingRefused(409, "this item is already rated")
        current = next_presentation(connection, rater_id)
        if current is None or current["presentation_id"] != presentation_id:
            raise RatingRefused(409, "this is not your current item; reload the page")
        if current["phase"] == "calibration" and score != current["anchor"]:
            raise RatingRefused(422, f"calibration image: its score is {current['anchor']}; press {current['anchor']}")
        connection.execute(
            "INSERT INTO ratings (presentation_id, rater_id, score, rated_at) VALUES (?, ?, ?, ?)",
            (presentation_id, rater_id, score, time.time()),
        )


def all_ratings(connection: sqlite3.Connection) -> list[dict]:
    """Every rating with its presentation and stimulus (unblinded: for the owner's results)."""
    rows = connection.execute(
        "SELECT r.rater_id, p.id AS presentation_id, p.position, p.repeat, s.id AS stimulus_id, s.phase, s.method, "
        "s.image_set, s.image, s.anchor, r.score, r.rated_at FROM ratings r "
        "JOIN presentations p ON p.id = r.presentation_id JOIN stimuli s ON s.id = p.stimulus_id "
        "ORDER BY r.rater_id, p.position"
    ).fetchall()
    return [dict(row) for row in rows]


def counts(connection: sqlite3.Connection) -> dict:
    """Study-wide numbers: raters, presentations, ratings, raters who finished."""
    raters_total = connection.execute("SELECT COUNT(*) FROM raters").fetchone()[0]
    presentations_total = connection.execute("SELECT COUNT(*) FROM presentations").fetchone()[0]
    ratings_total = connection.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
    finished = connection.execute(
        "SELECT COUNT(*) FROM raters t WHERE NOT EXISTS (SELECT 1 FROM presentations p WHERE p.rater_id = t.id "
        "AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.presentation_id = p.id))"
    ).fetchone()[0]
    return {"raters": raters_total, "presentations": presentations_total, "ratings": ratings_total, "finished": finished}
