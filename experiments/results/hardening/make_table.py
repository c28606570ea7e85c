"""The hardening evidence: every case of issue 18 run as a user would, as a separate process,
with its exit code, its message (verbatim) and its peak RSS (os.wait4's ru_maxrss of the process; Linux carries
ru_maxrss over from this parent across fork + exec, so this script's own RSS, about 100 MB, is a floor).

    PYTHONPATH=. python experiments/results/hardening/make_table.py WORK_DIR [--full_size=DIR]

WORK_DIR receives the bad files (made here, never committed) and the runs.  --full_size points
at the output of serving_full_size.py (the full-size SRResNet SavedModel); its JSON gives the TF1
loader rows and its SavedModel is sent the same requests through saved_model_cli.  Writes
experiments/results/hardening/table.json and prints the Markdown table.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("work", nargs="?", default=None)
parser.add_argument("--render_only", action="store_true", help="print the Markdown table of table.json and exit")
parser.add_argument("--full_size", default=None)
parser.add_argument("--skip", default="", help="comma-separated case names not to run (already measured)")
parser.add_argument("--sections", default="serving,images,training,export", help="comma-separated; rows of the others are kept from table.json")
args = parser.parse_args()


def render(rows):
    lines = ["| case | input | program | exit code | message (verbatim) | peak RSS (MB) |", "|---|---|---|---|---|---|"]
    for row in rows:
        message = row["message"].replace("|", "\\|")
        lines.append(f"| {row['case']} | {row['input']} | {row['program']} | {row['exit_code']} | {message} | {row['peak_rss_mb']} |")
    return "\n".join(lines)


if args.render_only:
    print(render(json.load(open(os.path.join(HERE, "table.json")))))
    sys.exit(0)
work = os.path.abspath(args.work)
os.makedirs(work, exist_ok=True)
env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
PY = sys.executable
BIN = os.path.dirname(sys.executable)
rows = []
sections = set(args.sections.split(","))
current = {"section": "serving"}


def run_measured(case, program, command, keep=None, input_desc=""):
    if case in args.skip.split(","):
        return None
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=work)
    # Read the pipes in threads so a chatty child cannot block; then wait4 for its own rusage.
    import threading

    buffers = {"out": b"", "err": b""}

    def drain(stream, key):
        buffers[key] = stream.read()

    threads = [threading.Thread(target=drain, args=(process.stdout, "out")), threading.Thread(target=drain, args=(process.stderr, "err"))]
    for thread in threads:
        thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    for thread in threads:
        thread.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    text = (buffers["err"] + buffers["out"]).decode(errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if keep:
        lines = [line for line in lines if any(k in line for k in keep)]
    row = {
        "section": current["section"], "case": case, "input": input_desc, "program": program, "exit_code": process.returncode,
        "message": " / ".join(line.strip() for line in lines[-6:]), "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "seconds": round(time.time() - started, 1), "command": " ".join(os.path.relpath(c, work) if c.startswith(work) else c for c in command),
    }
    rows.append(row)
    print(json.dumps(row), flush=True)
    return row


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
from tests.hardening.bad_files import corrupted, png_of_zeros, random_png_bytes, truncated  # noqa: E402
from tests.training.conftest import smooth_photo  # noqa: E402
from PIL import Image  # noqa: E402

# ---- bad files, made here
bomb = os.path.join(work, "bomb_16000x16000.png")
if not os.path.exists(bomb):
    png_of_zeros(bomb, 16000, 16000)
good = os.path.join(work, "good.png")
Image.fromarray(smooth_photo(0, 40, 48)).save(good)
Image.fromarray(smooth_photo(1, 40, 48)).save(os.path.join(work, "good.jpg"), quality=90)
with open(os.path.join(work, "truncated.png"), "wb") as f:
    f.write(truncated(open(good, "rb").read(), 0.5))
with open(os.path.join(work, "corrupt.jpg"), "wb") as f:
    f.write(corrupted(open(os.path.join(work, "good.jpg"), "rb").read(), 300))
folder = os.path.join(work, "folder")
shutil.rmtree(folder, ignore_errors=True)
os.makedirs(folder)
for name in ("good.png", "good.jpg", "truncated.png", "corrupt.jpg"):
    shutil.copy(os.path.join(work, name), os.path.join(folder, name.replace("good.jpg", "good2.jpg")))
shutil.copy(bomb, os.path.join(folder, "bomb.png"))
eval_folder = os.path.join(work, "eval_set")
shutil.rmtree(eval_folder, ignore_errors=True)
os.makedirs(eval_folder)
shutil.copy(good, os.path.join(eval_folder, "good.png"))
shutil.copy(bomb, os.path.join(eval_folder, "bomb.png"))
with open(os.path.join(work, "corrupt.keras"), "wb") as f:
    f.write(b"PK\x03\x04" + os.urandom(2000))
photos = os.path.join(work, "photos")
os.makedirs(photos, exist_ok=True)
for i in range(2):
    Image.fromarray(smooth_photo(i)).save(os.path.join(photos, f"p{i}.png"))

upscale = [PY, "-m", "sr_keras.programs.upscale", "--model=bicubic"]
train = [PY, "-m", "sr_keras.programs.train", f"--data={photos}", "--num_blocks=1", "--num_features=8", "--crop_size=16",
         "--batch_size=2", "--checkpoint_every=2", "--log_every=1000", "--jit_compile=false", "--verbose=0", "--learning_rate=1e-3"]
ERR = ["error", "skipped", "  ", "wrote", "resuming", "done", "WARNING", "W1", "W0"]

# ---- SavedModel (full size), through saved_model_cli = TF Serving's loader
if args.full_size and "serving" in sections:
    result = json.load(open(os.path.join(args.full_size, "serving_full_size.json")))
    for answer in result["answers"]:
        if "request" in answer:
            rows.append({
                "section": "serving", "case": f"SavedModel {os.path.basename(answer['request'])[:-4]} (TF1 loader, one process)",
                "input": os.path.basename(answer["request"])[:-4] + " PNG", "program": "TF1 loader (tests/hardening/serve_probe.py)",
                "exit_code": result["exit_code"], "message": answer.get("error") or f"served: {answer['shapes']}",
                "peak_rss_mb": round(result["time_v_max_rss_kb"] / 1024), "seconds": None, "command": "serving_full_size.py",
            })
    saved = result["saved_model"]
    for name in ("4000x4000",):  # 1000x1000 served: the TF1 loader row above (30 min here; not run twice)
        request = os.path.join(args.full_size, f"{name}.npy")
        run_measured(f"SavedModel {name} via saved_model_cli", "saved_model_cli run", [
            os.path.join(BIN, "saved_model_cli"), "run", "--dir", saved, "--tag_set", "serve", "--signature_def", "serve_image_bytes",
            "--inputs", f"image_bytes={request}", "--outdir", os.path.join(work, f"cli_{name}"), "--overwrite"],
            keep=["assertion failed", "Result for output key", "Error"], input_desc=f"{name} PNG, full-size SRResNet")
    np.save(os.path.join(work, "bomb.npy"), np.array([open(bomb, "rb").read()], dtype=object), allow_pickle=True)
    run_measured("SavedModel 16000x16000 bomb via saved_model_cli", "saved_model_cli run", [
        os.path.join(BIN, "saved_model_cli"), "run", "--dir", saved, "--tag_set", "serve", "--signature_def", "serve_image_bytes",
        "--inputs", f"image_bytes={os.path.join(work, 'bomb.npy')}", "--outdir", os.path.join(work, "cli_bomb"), "--overwrite"],
        keep=["assertion failed"], input_desc="746 KB PNG of 16000x16000")

# ---- images
if "images" in sections:
    current["section"] = "images"
    run_measured("bomb through sr-upscale", "sr-upscale", [*upscale, f"--input={bomb}", f"--output={work}/bomb_x4.png", "--tile=256"], ERR, "746 KB PNG of 16000x16000")
    run_measured("bomb through sr-eval", "sr-eval", [PY, "-m", "sr_keras.programs.evaluate", "--model=bicubic", f"--hr_dir={eval_folder}"], ["error", "bomb"], "folder: good.png + 16000x16000 bomb")
    run_measured("truncated PNG", "sr-upscale", [*upscale, f"--input={work}/truncated.png", f"--output={work}/t_x4.png"], ERR, "first half of a PNG")
    run_measured("corrupt JPEG", "sr-upscale", [*upscale, f"--input={work}/corrupt.jpg", f"--output={work}/c_x4.png"], ERR, "JPEG, bytes 300+ garbage")
    run_measured("folder with bad files", "sr-upscale", [*upscale, f"--input={folder}", f"--output={work}/folder_x4"], ERR, "folder: 2 good, truncated, corrupt, bomb")
    run_measured("--output equal to --input", "sr-upscale", [*upscale, f"--input={folder}", f"--output={folder}"], ERR, "folder -> same folder")
    run_measured("output path = input file", "sr-upscale", [*upscale, f"--input={good}", f"--output={good}"], ERR, "good.png -> good.png")
    run_measured("negative --tile", "sr-upscale", [*upscale, f"--input={good}", f"--output={work}/n.png", "--tile=-8"], ERR, "--tile=-8")

# ---- training
if "training" in sections:
    current["section"] = "training"
    for run_dir in ("run_nan", "run_explode", "run_corrupt", "run_generator", "run_config", "run_locked"):
        shutil.rmtree(os.path.join(work, run_dir), ignore_errors=True)
    run_measured("lr nan", "sr-train", [*train, f"--run_dir={work}/run_nan", "--steps=4", "--learning_rate=nan"], ERR, "--learning_rate=nan")
    run_measured("lr inf", "sr-train", [*train, f"--run_dir={work}/run_nan", "--steps=4", "--learning_rate=inf"], ERR, "--learning_rate=inf")
    run_measured("lr 1e39", "sr-train", [*train, f"--run_dir={work}/run_nan", "--steps=4", "--learning_rate=1e39"], ERR, "--learning_rate=1e39")
    run_measured("good start (2 steps)", "sr-train", [*train, f"--run_dir={work}/run_explode", "--steps=2"], ERR, "lr 1e-3")
    run_measured("lr 1e6 after a good checkpoint", "sr-train", [*train, f"--run_dir={work}/run_explode", "--steps=6", "--checkpoint_every=1", "--learning_rate=1e6"], ERR, "--learning_rate=1e6")
    run_measured("lr 1e12", "sr-train", [*train, f"--run_dir={work}/run_explode", "--steps=6", "--checkpoint_every=1", "--learning_rate=1e12"], ERR, "--learning_rate=1e12")
    run_measured("resume as the message says", "sr-train", [*train, f"--run_dir={work}/run_explode", "--steps=6", "--checkpoint_every=1", "--learning_rate=1e-3"], ERR, "--learning_rate=1e-3")
    run_measured("train 4 steps", "sr-train", [*train, f"--run_dir={work}/run_corrupt", "--steps=4"], ERR, "")
    ckpt = os.path.join(work, "run_corrupt", "checkpoints")
    for name in os.listdir(ckpt):
        if name.startswith("ckpt-4.data"):
            path = os.path.join(ckpt, name)
            with open(path, "r+b") as f:
                f.write(b"\xde\xad\xbe\xef" * (os.path.getsize(path) // 4))
    run_measured("corrupt latest checkpoint", "sr-train", [*train, f"--run_dir={work}/run_corrupt", "--steps=6"], ERR, "ckpt-4 data overwritten")
    run_measured("train 2 steps", "sr-train", [*train, f"--run_dir={work}/run_generator", "--steps=2"], ERR, "")
    os.remove(os.path.join(work, "run_generator", "generator.keras"))
    run_measured("missing generator.keras rerun", "sr-train", [*train, f"--run_dir={work}/run_generator", "--steps=2"], ERR, "generator.keras deleted")
    rows[-1]["message"] += f" [generator.keras exists: {os.path.isfile(os.path.join(work, 'run_generator', 'generator.keras'))}]"
    os.makedirs(os.path.join(work, "run_config"))
    with open(os.path.join(work, "run_config", "config.json"), "w") as f:
        f.write('{"steps": 4, "learning_rate": 1e-3,')
    run_measured("corrupt config.json", "sr-train", [*train, f"--run_dir={work}/run_config", "--steps=2"], ERR, "config.json cut short")
    os.makedirs(os.path.join(work, "run_locked"))
    holder = subprocess.Popen([PY, "-c", "import sys, time; from sr_keras.training import run_folder; lock = run_folder.lock_run_dir(sys.argv[1]); print('locked', flush=True); time.sleep(900)",
                               os.path.join(work, "run_locked")], stdout=subprocess.PIPE, text=True, env=env)
    holder.stdout.readline()
    run_measured("locked run dir", "sr-train", [*train, f"--run_dir={work}/run_locked", "--steps=2"], ERR, "another process holds run_locked/.lock")
    holder.kill()
    holder.wait()
    run_measured("after kill -9 of the holder", "sr-train", [*train, f"--run_dir={work}/run_locked", "--steps=2"], ERR, "holder killed with SIGKILL")

# ---- models and export
if "export" in sections:
    current["section"] = "export"
    run_measured("corrupt .keras", "sr-export", [PY, "-m", "sr_keras.programs.export", f"--model={work}/corrupt.keras", f"--output={work}/serving"], ERR, "random bytes named .keras")
    run_measured("corrupt .keras", "sr-upscale", [PY, "-m", "sr_keras.programs.upscale", f"--model={work}/corrupt.keras", f"--input={good}", f"--output={work}/k.png"], ERR, "random bytes named .keras")
    generator = os.path.join(work, "my_srgan", "generator.keras")  # as sr-train writes it: RUN/generator.keras
    if not os.path.exists(generator):
        from sr_keras.archs import SRResNet

        os.makedirs(os.path.dirname(generator), exist_ok=True)
        SRResNet(num_blocks=1, num_features=8).save(generator)
    lite = [PY, "-m", "sr_keras.programs.export", f"--model={generator}", "--format=tflite", f"--output={work}/lite", "--tflite_input=16x16", "--noverify"]
    shutil.rmtree(os.path.join(work, "lite"), ignore_errors=True)
    run_measured("TFLite export", "sr-export", lite, ERR, "my_srgan/generator.keras")
    run_measured("TFLite export again", "sr-export", lite, ERR, "same output")

ORDER = ["serving", "images", "training", "export"]
table_path = os.path.join(HERE, "table.json")
kept = [row for row in json.load(open(table_path)) if row.get("section") not in sections] if os.path.exists(table_path) else []
rows = sorted(kept + rows, key=lambda row: ORDER.index(row["section"]))
with open(table_path, "w") as f:
    json.dump(rows, f, indent=1)
print(render(rows))
