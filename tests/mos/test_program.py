"""sr-mos as a user runs it: --help, invite, results (files), simulate, errors in one line."""

import csv
import json
import os
import subprocess
import sys

import numpy as np

from sr_keras.mos import database


def sr_mos(*args, timeout=120, env=None):
    return subprocess.run([sys.executable, "-m", "sr_keras.programs.mos", *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_help_explains_commands_examples_and_required_flags():
    result = sr_mos("--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("sr-mos: run a mean-opinion-score study")
    for text in ("sr-mos create --study=", "sr-mos invite", "sr-mos serve", "sr-mos results", "(required)",
                 "(required by create)", "--retest_share", "Commands: create, invite, serve, results, simulate"):
        assert text in out, text


def test_errors_are_one_line(tensorflow_blocked_env):
    result = sr_mos("results", "--study=/nonexistent/study", env=tensorflow_blocked_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("sr-mos") or "not a study folder" in result.stderr
    assert "Traceback" not in result.stderr and "not a study folder" in result.stderr
    result = sr_mos("frobnicate", "--study=x", env=tensorflow_blocked_env)
    assert result.returncode != 0 and "give one command" in result.stderr


def test_invite_simulate_and_results_files(study_copy, tmp_path, tensorflow_blocked_env):
    # Only `create` upscales; invite, simulate (and serve, which it runs) and results work without TensorFlow.
    env = tensorflow_blocked_env
    result = sr_mos("invite", f"--study={study_copy}", "--base_url=http://mos.example:9000/", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("rater 1: http://mos.example:9000/rate/")
    assert lines[-1].startswith("owner (live results, keep private): http://mos.example:9000/results/")
    result = sr_mos("simulate", f"--study={study_copy}", "--simulate_mos=nearest=1.5,bicubic=2.5,HR=4.5", "--simulate_noise=0", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["simulated"]["acknowledged"] == 3 * 15
    assert sr_mos("simulate", f"--study={study_copy}", "--simulate_mos=nearest=1,bicubic=2,HR=4", env=env).returncode == 2
    output = tmp_path / "out"
    result = sr_mos("results", f"--study={study_copy}", f"--output={output}", env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(output)) == ["mos_distribution.png", "ratings.csv", "ratings.json", "results.json", "results.txt"]
    rows = list(csv.DictReader(open(output / "ratings.csv")))
    connection = database.connect(study_copy)
    assert len(rows) == len(json.load(open(output / "ratings.json"))) == database.counts(connection)["ratings"] == 45
    report = json.load(open(output / "results.json"))
    # With rater offsets of sd 0.3 and no noise, scores are round(mu + offset): 1.5 -> 1 or 2 etc.
    scores = {m: np.mean([int(r["score"]) for r in rows if r["method"] == m and r["phase"] == "test" and r["repeat"] == "0"])
              for m in ("nearest", "bicubic", "HR")}
    for method, value in scores.items():
        assert abs(report["mos"]["all"][method]["mos"] - value) < 1e-12
        assert report["mos"]["all"][method]["ratings"] == 12
    assert "MOS [95% CI]" in result.stdout and "Wilcoxon signed-rank" in result.stdout
    assert open(output / "mos_distribution.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
