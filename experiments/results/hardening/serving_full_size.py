"""One-off: the full-size SRResNet (16 blocks, 64 features, 1.5 M parameters; random weights:
memory and time do not depend on their values) exported with the defaults (pixel limit
4,194,304, memory budget 1024 MB), then a 1000x1000 and a 4000x4000 PNG sent to
serve_image_bytes through the TF1 loader (as TF Serving loads it), in one process.

    python experiments/results/hardening/serving_full_size.py OUTPUT_DIR

Writes OUTPUT_DIR/serving_full_size.json: the tile plan and the probe's answers with peak RSS.
"""
import json
import os
import subprocess
import sys

import numpy as np

from sr_keras import export
from sr_keras.archs import SRResNet
from sr_keras.tiling import bytes_per_lr_pixel
from tests.hardening.bad_files import png_of_zeros, random_png_bytes

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
model = SRResNet()
tile, pad = export.tile_plan(model)
path = export.export_saved_model(model, os.path.join(out, "serving"), "srresnet_full")
requests = []
png_of_zeros(os.path.join(out, "zeros_4000.png"), 4000, 4000)
for name, content in [("1000x1000", random_png_bytes(1000, 1000)), ("4000x4000", open(os.path.join(out, "zeros_4000.png"), "rb").read())]:
    request = os.path.join(out, f"{name}.npy")
    np.save(request, np.array([content], dtype=object), allow_pickle=True)
    requests.append(request)
probe = subprocess.run(
    ["/usr/bin/time", "-v", sys.executable, "-m", "tests.hardening.serve_probe", path, *requests],
    capture_output=True, text=True,
)
lines = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
wall = next((line.split(": ", 1)[1] for line in probe.stderr.splitlines() if "Elapsed (wall clock)" in line), None)
maxrss = next((int(line.split(": ", 1)[1]) for line in probe.stderr.splitlines() if "Maximum resident set size" in line), None)
result = {
    "model": "SRResNet(num_blocks=16, num_features=64)", "parameters": model.count_params(),
    "tile": tile, "tile_pad": pad, "bytes_per_lr_pixel": bytes_per_lr_pixel(model),
    "saved_model": path, "exit_code": probe.returncode, "answers": lines,
    "time_v_max_rss_kb": maxrss, "time_v_wall": wall, "stderr_tail": probe.stderr[-1500:] if probe.returncode else "",
}
with open(os.path.join(out, "serving_full_size.json"), "w") as handle:
    json.dump(result, handle, indent=1)
print(json.dumps(result, indent=1))
