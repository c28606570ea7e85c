"""The study's rules hold in the schema itself (not only in the web app), and record_rating's refusals."""

import sqlite3
import time

import pytest

from sr_keras.mos import database


def _first_presentations(connection):
    """(rater_id, presentation_id) of each rater's first (calibration) presentation."""
    return connection.execute("SELECT rater_id, id FROM presentations WHERE position = 0 ORDER BY rater_id").fetchall()


def test_wal_and_constraints_at_the_storage_level(study_copy):
    connection = database.connect(study_copy)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    (rater_a, item_a), (rater_b, item_b), _ = _first_presentations(connection)
    insert = "INSERT INTO ratings (presentation_id, rater_id, score, rated_at) VALUES (?, ?, ?, ?)"
    for bad_score in (0, 6, 3.5, "x", None):
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(insert, (item_a, rater_a, bad_score, time.time()))
    with pytest.raises(sqlite3.IntegrityError):  # another rater's item
        connection.execute(insert, (item_b, rater_a, 3, time.time()))
    with pytest.raises(sqlite3.IntegrityError):  # no such presentation
        connection.execute(insert, ("0123456789abcdef", rater_a, 3, time.time()))
    connection.execute(insert, (item_a, rater_a, 1, time.time()))
    with pytest.raises(sqlite3.IntegrityError):  # once per presentation
        connection.execute(insert, (item_a, rater_a, 2, time.time()))
    assert connection.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 1


def test_record_rating_refusals(study_copy):
    connection = database.connect(study_copy)
    (rater_a, _), (rater_b, item_b), _ = _first_presentations(connection)
    current = database.next_presentation(connection, rater_a)
    assert current["phase"] == "calibration" and current["position"] == 0
    later = connection.execute("SELECT id FROM presentations WHERE rater_id = ? AND position = 5", (rater_a,)).fetchone()[0]
    cases = [
        (current["presentation_id"], 3.0, 422), (current["presentation_id"], True, 422), (current["presentation_id"], 0, 422),
        (item_b, current["anchor"], 403), ("ffffffffffffffff", 3, 404), (later, 3, 409),
        (current["presentation_id"], 6 - current["anchor"], 422),  # calibration: only its anchor score
    ]
    for item, score, status in cases:
        with pytest.raises(database.RatingRefused) as refused:
            database.record_rating(connection, rater_a, item, score)
        assert refused.value.status == status, (item, score)
    assert database.counts(connection)["ratings"] == 0
    database.record_rating(connection, rater_a, current["presentation_id"], current["anchor"])
    with pytest.raises(database.RatingRefused) as refused:
        database.record_rating(connection, rater_a, current["presentation_id"], current["anchor"])
    assert refused.value.status == 409
    assert database.next_presentation(connection, rater_a)["position"] == 1
    assert database.progress(connection, rater_a) == {"calibration": (1, 2), "test": (0, 13)}
