"""sr-mos: run a mean-opinion-score study of super-resolution methods (SRGAN paper, Sec. 3.4).

Four steps.  `create` super-resolves the HR test images with every method (models through the
project's one loader, `sr_keras.inference.load_upscaler`; nearest neighbour and the HR original
are always available), makes the calibration set (nearest = score 1 and HR = score 5 of images
that are not test images) and a randomized, blinded list per rater with test-retest duplicates.
`invite` prints one secret link per rater and the owner's results link.  `serve` runs the
rating web app (Flask on waitress): calibration first, then one image at a time at native
resolution, scores 1-5 by button or key, progress, break reminders, resume after closing the
tab; every rating is one SQLite transaction.  `results` writes MOS with 95% confidence intervals
per method and set, the SRGAN Fig. 5-style distribution figure, pairwise Wilcoxon signed-rank
tests, rater calibration and test-retest tables, and every rating as CSV and JSON.
`simulate` is a dry run: simulated raters (a known score per method plus noise) rate the whole
study through the web app on 127.0.0.1; use it on a copy of a study, never on one people rate.

  sr-mos create --study=studies/set5 --hr_dir=Set5=data/Set5 --calibration_dir=data/calib \\
      --models=nearest,bicubic,realesrgan-x4plus,runs/srgan/generator.keras
  sr-mos invite --study=studies/set5 --raters=26 --base_url=http://mos.example.org:8000
  sr-mos serve --study=studies/set5 --host=0.0.0.0 --port=8000
  sr-mos results --study=studies/set5 --output=studies/set5/results --exclude_raters
  sr-mos simulate --study=/tmp/dry_run --simulate_mos=nearest=1.1,bicubic=1.5,realesrgan-x4plus=3.5,HR=4.5

Commands: create, invite, serve, results, simulate.  Flags marked (required) must be given; the
others have defaults.  Each flag says which commands read it.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS
COMMANDS = ("create", "invite", "serve", "results", "simulate")


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    flags.DEFINE_string("study", None, "(required) The study folder (all commands); `create` makes it.")
    flags.DEFINE_list(
        "hr_dir", [], "(required by create) Folders of HR test images, comma-separated, each DIR or NAME=DIR "
        "(NAME: the set's name in the results, default the folder name), e.g. Set5=data/Set5,Set14=data/Set14.",
    )
    flags.DEFINE_list(
        "models", ["nearest", "bicubic"], "create: the methods besides HR (always included), comma-separated: "
        "nearest, bicubic, a shipped name (realesrgan-x4plus, ...), a .keras file, an RRDBNet/SRResNet "
        ".weights.h5 file or a SavedModel dir (anything sr-upscale --model takes).",
    )
    flags.DEFINE_string(
        "calibration_dir", None, "create: HR images for calibration (must not be test images). Default: "
        "--calibration_count images are held out of the test sets.",
    )
    flags.DEFINE_integer("calibration_count", 2, "create: images held out for calibration when there is no --calibration_dir.", lower_bound=1)
    flags.DEFINE_integer(
        "raters", None, "create: raters to make (default 26, the paper's); invite: links to print (default all; "
        "more than exist adds raters).", lower_bound=0,
    )
    flags.DEFINE_float("retest_share", 0.1, "create: share of test items shown a second time (0 to 0.5).")
    flags.DEFINE_integer("break_every", 50, "create: remind the rater to take a break every N test images (0: never).", lower_bound=0)
    flags.DEFINE_integer("seed", 0, "create: seed of the calibration hold-out and the per-rater orders.")
    flags.DEFINE_integer("scale", 4, "create: upscaling factor (the models' must match).", lower_bound=2)
    flags.DEFINE_integer("tile", 0, "create: run models in tiles of this many LR pixels (0: whole image); bounds memory.", lower_bound=0)
    flags.DEFINE_string("base_url", "http://127.0.0.1:8000", "invite: the address raters reach `serve` at.")
    flags.DEFINE_string("host", "127.0.0.1", "serve: interface to listen on (0.0.0.0: every interface).")
    flags.DEFINE_integer("port", 8000, "serve: TCP port.", lower_bound=1, upper_bound=65535)
    flags.DEFINE_integer("threads", 8, "serve: worker threads of the WSGI server.", lower_bound=1)
    flags.DEFINE_string("output", None, "results: output folder (default STUDY/results).")
    flags.DEFINE_list(
        "simulate_mos", [], "simulate: METHOD=SCORE for every method, e.g. nearest=1.1,bicubic=1.47,HR=4.46: "
        "the latent mean score of the simulated raters (sr_keras.mos.simulation).",
    )
    flags.DEFINE_float("simulate_noise", 0.7, "simulate: sd of a simulated rating around rater's latent score (scale points).")
    flags.DEFINE_float("simulate_rater_sd", 0.3, "simulate: sd of the per-rater offset (scale points).")
    flags.DEFINE_bool("exclude_raters", False, "results: leave out raters who fail the stated rule (see results.txt).")


def command_create() -> None:
    from sr_keras.programs import quiet_tensorflow

    if not FLAGS.hr_dir:
        raise app.UsageError("create needs --hr_dir")
    quiet_tensorflow()  # the only command that needs TensorFlow: it upscales the study's images
    from sr_keras.mos import study
    config = study.create_study(
        FLAGS.study, study.parse_sets(FLAGS.hr_dir), FLAGS.models, calibration_dir=FLAGS.calibration_dir,
        calibration_count=FLAGS.calibration_count, raters=26 if FLAGS.raters is None else FLAGS.raters,
        retest_share=FLAGS.retest_share, break_every=FLAGS.break_every, seed=FLAGS.seed, scale=FLAGS.scale,
        tile=FLAGS.tile,
    )
    print(f"study {FLAGS.study}: methods {', '.join(config['methods'])}; sets {', '.join(config['sets'])}; "
          f"{len(config['calibration'])} calibration image(s). Next: sr-mos invite --study={FLAGS.study}")


def command_invite() -> None:
    from sr_keras.mos import database, study

    connection = database.connect(FLAGS.study)
    count = len(database.raters(connection)) if FLAGS.raters is None else FLAGS.raters
    connection.close()
    tokens, owner = study.invite(FLAGS.study, count)
    base = FLAGS.base_url.rstrip("/")
    for index, token in enumerate(tokens, 1):
        print(f"rater {index}: {base}/rate/{token}")
    print(f"owner (live results, keep private): {base}/results/{owner}")


def command_serve() -> None:
    from sr_keras.mos import study, webapp

    webapp.create_app(FLAGS.study)  # fail before binding if the folder is not a study
    print(f"sr-mos: serving {FLAGS.study} on http://{FLAGS.host}:{FLAGS.port} "
          f"(owner results: /results/{study.owner_token(FLAGS.study)}); Ctrl-C stops", file=sys.stderr, flush=True)
    webapp.serve(FLAGS.study, FLAGS.host, FLAGS.port, FLAGS.threads)


def command_results() -> None:
    from sr_keras.mos import database, figure, statistics, study

    config = study.load_config(FLAGS.study)
    connection = database.connect(FLAGS.study)
    ratings = database.all_ratings(connection)
    counts = database.counts(connection)
    connection.close()
    report = statistics.analyse(ratings, methods=config["methods"], exclude=FLAGS.exclude_raters)
    output = FLAGS.output or os.path.join(FLAGS.study, "results")
    os.makedirs(output, exist_ok=True)
    tables = statistics.format_tables(report)
    header = (f"{counts['raters']} raters ({counts['finished']} finished), {counts['ratings']} of "
              f"{counts['presentations']} presentations rated\n\n")
    with open(os.path.join(output, "results.txt"), "w") as handle:
        handle.write(header + tables + "\n")
    with open(os.path.join(output, "results.json"), "w") as handle:
        json.dump({"counts": counts, "config": config, **report}, handle, indent=1, default=float)
    with open(os.path.join(output, "ratings.csv"), "w") as handle:
        handle.write(statistics.ratings_csv(ratings))
    with open(os.path.join(output, "ratings.json"), "w") as handle:
        json.dump(ratings, handle, indent=1)
    figure.save(report, os.path.join(output, "mos_distribution.png"))
    print(header + tables)
    print(f"wrote results.txt, results.json, ratings.csv, ratings.json, mos_distribution.png to {output}", file=sys.stderr)


def command_simulate() -> None:
    import threading

    from sr_keras.mos import database, simulation, study, webapp

    config = study.load_config(FLAGS.study)
    mu = {}
    for item in FLAGS.simulate_mos:
        method, _, value = item.rpartition("=")
        try:
            mu[method] = float(value)
        except ValueError:
            raise app.UsageError(f"--simulate_mos: {item!r} is not METHOD=SCORE") from None
    missing = set(config["methods"]) - set(mu)
    if missing:
        raise app.UsageError(f"--simulate_mos: give a score for {', '.join(sorted(missing))}")
    connection = database.connect(FLAGS.study)
    counts = database.counts(connection)
    tokens = [row["token"] for row in database.raters(connection)]
    connection.close()
    if counts["ratings"]:
        raise ValueError(f"{FLAGS.study}: already has {counts['ratings']} ratings; simulate only fills an unrated study")
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth": expected under a burst
    server = webapp.make_server(FLAGS.study, "127.0.0.1", 0, FLAGS.threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        raters = simulation.run_raters(
            f"http://127.0.0.1:{server.effective_port}", tokens, simulation.answer_key(FLAGS.study), mu,
            rater_sd=FLAGS.simulate_rater_sd, noise_sd=FLAGS.simulate_noise, seed=FLAGS.seed, timeout_s=3600,
        )
    finally:
        server.close()
    summary = simulation.latency_summary(raters)
    sd = (FLAGS.simulate_rater_sd ** 2 + FLAGS.simulate_noise ** 2) ** 0.5
    expected = {m: simulation.expected_score(v, sd) for m, v in mu.items()}
    print(json.dumps({"simulated": summary, "latent_mos": mu, "expected_mos": expected}, indent=1))
    print(f"Next: sr-mos results --study={FLAGS.study}", file=sys.stderr)


def main(argv):
    if len(argv) != 2 or argv[1] not in COMMANDS:
        raise app.UsageError(f"give one command: {' | '.join(COMMANDS)} (sr-mos --help explains each)")
    if not FLAGS.study:
        raise app.UsageError("--study is required")
    {"create": command_create, "invite": command_invite, "serve": command_serve, "results": command_results,
     "simulate": command_simulate}[argv[1]]()


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main, uses_tensorflow=False)  # --help: the module docstring and the flags (sr_keras.programs)


if __name__ == "__main__":
    run()
