"""The benchmark workloads in PyTorch, NCHW and channels-last: the peer `benchmarks.run --peer=torch` compares with.

  python -m benchmarks.peer_torch --workload=srresnet_mse_update --layout=channels_last [--smoke]

prints one JSON object: seconds per update (or per image) as benchmarks.timing reports them, and
the trainable parameter count of every network, which `benchmarks.run --peer=torch` checks against
the project's networks before it reports a ratio.  Networks:
  * RRDBNet: spandrel's ESRGAN architecture (`pip install spandrel`; growth channels fixed at 32);
  * SRResNet with batch norm (the SRGAN generator), the SRGAN discriminator, ESRGAN's VGG-style
    discriminator and the VGG19 feature stack: written here in PyTorch (spandrel has no BN SRResNet
    and no discriminators; basicsr has them but imports torchvision, which does not install beside
    this machine's torch; torchvision's VGG19 likewise), each checked against the project's
    parameter count.
The losses and passes are those of sr_keras/training (SRModel, SRGANModel, ESRGANModel): the same
batch sizes, crops, loss weights and Adam as benchmarks/training.py; random data and weights
(weights do not change the cost).  torch is optional (`pip install torch spandrel`); nothing in CI
needs it.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile

PEER_WORKLOADS = ("srresnet_mse_update", "srgan_vgg54_update", "rrdbnet_l1_update", "esrgan_gan_update", "infer_srresnet", "infer_rrdbnet")
LAYOUTS = ("nchw", "channels_last")


# --- pure logic (no torch): used by benchmarks.run --peer=torch and its tests ---------------------
def ratio_summary(project_seconds: list[float], peer_seconds: list[float]) -> dict:
    """project/peer seconds of each process pair (> 1: the peer is faster), with min/median/max."""
    if len(project_seconds) != len(peer_seconds) or not project_seconds:
        raise ValueError(f"need the same positive number of project and peer runs, got {len(project_seconds)} and {len(peer_seconds)}")
    ratios = [p / q for p, q in zip(project_seconds, peer_seconds)]
    return {"ratios": ratios, "min": min(ratios), "median": statistics.median(ratios), "max": max(ratios)}


def check_parameter_counts(workload: str, peer: dict[str, int], project: dict[str, int]) -> None:
    """Raise ValueError unless the peer has the project's networks with the same trainable parameter counts."""
    problems = [
        f"{name}: PyTorch {peer.get(name)} vs project {project.get(name)}"
        for name in sorted(set(peer) | set(project))
        if peer.get(name) != project.get(name)
    ]
    if problems:
        raise ValueError(f"{workload}: the PyTorch peer is not the project's architecture ({'; '.join(problems)})")


def workload_sizes(workload: str, smoke: bool) -> dict:
    """The sizes the project's workload uses (benchmarks/training.py, benchmarks/inference.py)."""
    from benchmarks import inference, training

    if workload.startswith("infer_"):
        arch = workload[len("infer_") :]
        size = inference.SMOKE_SIZE if smoke else inference.SIZE
        if arch == "srresnet":
            net = dict(num_blocks=2, num_features=16) if smoke else dict(num_blocks=16, num_features=64)
        else:
            net = dict(num_blocks=1, num_features=16) if smoke else dict(num_blocks=23, num_features=64)
        return {"arch": arch, "size": size, **net}
    fields = {**training.CONFIGS[workload], **(training.SMOKE if smoke else {})}
    fields.setdefault("num_features", 64)
    fields["batch_size"] = training.SMOKE_BATCH_SIZE if smoke else training.BATCH_SIZE
    return fields


def project_variant(workload: str, jit_compile: bool | None = None) -> str:
    """The benchmarks.run workload that times what sr-train runs by default on this machine: a
    training update with XLA (`workload`) or with TensorFlow's oneDNN kernels (`workload`_no_xla), as
    hardware.default_jit_compile picks (oneDNN on AVX-512 CPUs); inference workloads as they are."""
    if workload.startswith("infer_"):
        return workload
    if jit_compile is None:
        from sr_keras.training import hardware

        jit_compile = hardware.default_jit_compile()
    return workload if jit_compile else f"{workload}_no_xla"


# Inference through Keras as sr-upscale runs it: the keras_upscaler backend (benchmarks/inference.py).
INFER_BACKENDS = ("keras", "keras_upscaler")


def project_seconds(workload: str, entry: dict) -> float:
    """Median seconds of a project workload's entry in benchmarks.run's JSON (for inference: the Keras
    forward as sr-upscale runs it, the keras_upscaler backend; keras in JSON made before it existed)."""
    if not workload.startswith("infer_"):
        return entry["median_s"]
    backends = entry["backends"]
    return backends.get("keras_upscaler", backends["keras"])["median_s"]


def project_parameter_counts(workload: str, smoke: bool) -> dict[str, int]:
    """Trainable parameters of each network the project's workload runs (needs TensorFlow, not torch)."""
    import numpy as np

    from benchmarks import inference, training

    count = lambda model: int(sum(np.prod(w.shape) for w in model.trainable_weights))  # noqa: E731
    if workload.startswith("infer_"):
        return {"generator": count(inference.build_model(workload[len("infer_") :], smoke)[0])}
    model = training.build_model(training.make_config(workload, jit_compile=False, smoke=smoke))
    counts = {"generator": count(model.generator)}
    if getattr(model, "discriminator", None) is not None:
        counts["discriminator"] = count(model.discriminator)
    if model.content_loss.perceptual is not None:
        counts["vgg"] = int(sum(np.prod(w.shape) for w in model.content_loss.perceptual.extractor.weights))
    return counts


def _run_json(command: list[str], output: str | None = None) -> dict:
    """Run a benchmark process; the JSON it wrote to `output`, or else the last line it printed."""
    import subprocess

    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    if output:
        with open(output) as handle:
            return json.load(handle)
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(workloads, smoke: bool, pairs: int, repeats: int | None, python: str = sys.executable) -> dict:
    """Alternate project and PyTorch processes per workload (project, NCHW, channels-last; `pairs` times).

    The project side is what sr-train runs by default here (`project_variant`: XLA or oneDNN), float32.

    Every process is fresh, so both sides see the machine's between-process spread the same way; the
    ratio of each pair is project seconds / PyTorch seconds (> 1: PyTorch faster).  The peer's
    parameter counts are checked against the project's networks before any timing is reported.
    """
    common = (["--smoke"] if smoke else []) + (["--repeats", str(repeats)] if repeats else [])
    results = {}
    for workload in workloads:
        variant = project_variant(workload)
        expected = project_parameter_counts(workload, smoke)
        project_s, peer_s, shares, peer_shares = [], {layout: [] for layout in LAYOUTS}, [], {layout: [] for layout in LAYOUTS}
        peaks = []
        for pair in range(pairs):
            print(f"peer comparison: {workload}, pair {pair + 1}/{pairs}", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as folder:
                output = os.path.join(folder, "project.json")
                project = _run_json([python, "-m", "benchmarks.run", "--only", variant, *(f"--infer_backends={name}" for name in INFER_BACKENDS), f"--output={output}", *common], output)
            entry = project["workloads"][variant]
            peak, flops = project["matmul_peak"]["gflops_median"], entry["flops"]["total"]
            peaks.append(peak)
            project_s.append(project_seconds(workload, entry))
            shares.append(flops / project_s[-1] / 1e9 / peak)
            for layout in LAYOUTS:
                peer = _run_json([python, "-m", "benchmarks.peer_torch", f"--workload={workload}", f"--layout={layout}", *common])
                check_parameter_counts(workload, peer["parameters"], expected)
                peer_s[layout].append(peer["median_s"])
                peer_shares[layout].append(flops / peer["median_s"] / 1e9 / peak)
        results[workload] = {
            "project_variant": variant,
            "parameters": expected,
            "seconds_are": "per image" if workload.startswith("infer_") else "per update",
            "project_s": project_s,
            "project_share_of_matmul_peak": statistics.median(shares),
            "matmul_peak_gflops": peaks,  # per pair, measured in its project process (shares are of these)
            "flops": flops,
            "torch": {
                layout: {"seconds": peer_s[layout], "share_of_matmul_peak": statistics.median(peer_shares[layout]),
                         "project_over_torch": ratio_summary(project_s, peer_s[layout])}
                for layout in LAYOUTS
            },  # fmt: skip
        }
    return results


def table(results: dict) -> str:
    """A text table of compare()'s results: median seconds and the min/median/max ratio per layout."""
    lines = [f"{'workload':24} {'project s':>10} {'torch NCHW s':>13} {'ratio min/med/max':>20} {'torch CL s':>11} {'ratio min/med/max':>20}"]
    for workload, r in results.items():
        cells = [f"{workload:24} {statistics.median(r['project_s']):10.3f}"]
        for layout, width in (("nchw", 13), ("channels_last", 11)):
            t = r["torch"][layout]
            q = t["project_over_torch"]
            cells.append(f"{statistics.median(t['seconds']):{width}.3f} {q['min']:6.2f}/{q['median']:5.2f}/{q['max']:5.2f}".rjust(width + 21))
        lines.append(" ".join(cells))
    return "\n".join(lines)


# --- PyTorch networks --------------------------------------------------------------------------
def _torch():
    import torch

    return torch


def srresnet(num_blocks: int = 16, num_features: int = 64, scale: int = 4):
    """SRGAN generator (sr_keras/archs/srresnet.py): BN residual blocks, PReLU per channel, pixel shuffle."""
    nn = _torch().nn
    f = num_features

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f), nn.PReLU(f, 0.25), nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f))

        def forward(self, x):
            return x + self.body(x)

    class SRResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Sequential(nn.Conv2d(3, f, 9, padding=4), nn.PReLU(f, 0.25))
            self.body = nn.Sequential(*[Block() for _ in range(num_blocks)], nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f))
            ups = []
            for _ in range({2: 1, 4: 2, 8: 3}[scale]):
                ups += [nn.Conv2d(f, 4 * f, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(f, 0.25)]
            self.tail = nn.Sequential(*ups, nn.Conv2d(f, 3, 9, padding=4))

        def forward(self, x):
            x = self.head(x)
            return self.tail(x + self.body(x))

    return SRResNet()


def _spandrel_esrgan():
    """spandrel's ESRGAN (RRDBNet) class, imported without spandrel/__init__.py.

    spandrel's package __init__ imports every architecture it knows, and one of them (LaMa) imports
    torchvision, which PyPI's builds make unimportable beside this machine's torch 2.13.0 file.
    Registering a bare package object for "spandrel" lets Python import only the ESRGAN subpackage.
    """
    import importlib.util
    import types

    if "spandrel" not in sys.modules:
        spec = importlib.util.find_spec("spandrel")
        if spec is None:
            raise ImportError("spandrel is not installed (pip install --no-deps spandrel safetensors einops)")
        package = types.ModuleType("spandrel")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["spandrel"] = package
    from spandrel.architectures.ESRGAN import ESRGAN

    return ESRGAN


def rrdbnet(num_blocks: int = 23, num_features: int = 64, scale: int = 4):
    """spandrel's ESRGAN RRDBNet (growth 32, nearest upsampling + conv), the project's RRDBNet."""
    return _spandrel_esrgan()(num_filters=num_features, num_blocks=num_blocks, scale=scale)


def srgan_discriminator(patch_size: int = 96, num_features: int = 64):
    """SRGAN D (sr_keras/archs/discriminators.py): 8 convs (BN after the 2nd..8th, no bias there), dense 1024, dense 1."""
    nn = _torch().nn
    f = num_features
    layers, channels = [nn.Conv2d(3, f, 3, padding=1), nn.LeakyReLU(0.2)], f
    for filters, stride in [(f, 2), (2 * f, 1), (2 * f, 2), (4 * f, 1), (4 * f, 2), (8 * f, 1), (8 * f, 2)]:
        layers += [nn.Conv2d(channels, filters, 3, stride, 1, bias=False), nn.BatchNorm2d(filters), nn.LeakyReLU(0.2)]
        channels = filters
    side = patch_size // 16
    layers += [nn.Flatten(), nn.Linear(side * side * 8 * f, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 1)]
    return nn.Sequential(*layers)


def vgg_style_discriminator(patch_size: int = 128, num_features: int = 64):
    """ESRGAN's VGG-style D (BasicSR VGGStyleDiscriminator; sr_keras/archs/discriminators.py)."""
    nn = _torch().nn
    f = num_features
    layers = [nn.Conv2d(3, f, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.LeakyReLU(0.2)]
    channels = f
    for filters in (2 * f, 4 * f, 8 * f, 8 * f):
        layers += [nn.Conv2d(channels, filters, 3, 1, 1, bias=False), nn.BatchNorm2d(filters), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(filters, filters, 4, 2, 1, bias=False), nn.BatchNorm2d(filters), nn.LeakyReLU(0.2)]
        channels = filters
    side = patch_size // 32
    layers += [nn.Flatten(), nn.Linear(side * side * 8 * f, 100), nn.LeakyReLU(0.2), nn.Linear(100, 1)]
    return nn.Sequential(*layers)


VGG19_BLOCKS = (2, 2, 4, 4, 4)  # convs per block; channels 64, 128, 256, 512, 512


def vgg19_features(layer: str = "block5_conv4", before_activation: bool = False):
    """VGG19's conv stack up to `layer` (Keras naming), ReLU after it unless before_activation; no pooling after."""
    nn = _torch().nn
    block, conv = int(layer[5]), int(layer.split("conv")[1])
    layers, channels = [], 3
    for b, count in enumerate(VGG19_BLOCKS, start=1):
        filters = min(64 * 2 ** (b - 1), 512)
        for c in range(1, count + 1):
            layers.append(nn.Conv2d(channels, filters, 3, padding=1))
            channels = filters
            if (b, c) == (block, conv):
                if not before_activation:
                    layers.append(nn.ReLU())
                return nn.Sequential(*layers)
            layers.append(nn.ReLU())
        layers.append(nn.MaxPool2d(2))
    raise ValueError(f"no VGG19 layer {layer}")


def parameter_count(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --- workloads -----------------------------------------------------------------------------------
def _layout(module_or_tensor, layout: str):
    torch = _torch()
    return module_or_tensor.to(memory_format=torch.channels_last) if layout == "channels_last" else module_or_tensor


def build(workload: str, smoke: bool, layout: str):
    """(step function, {network: parameter count}, description) of one workload."""
    torch = _torch()
    F = torch.nn.functional
    sizes = workload_sizes(workload, smoke)
    generator_of = {"srresnet": srresnet, "rrdbnet": rrdbnet}
    torch.manual_seed(0)
    if workload.startswith("infer_"):
        g = _layout(generator_of[sizes["arch"]](sizes["num_blocks"], sizes["num_features"]), layout).eval()
        x = _layout(torch.rand(1, 3, sizes["size"], sizes["size"]), layout)

        def infer():
            with torch.inference_mode():
                return g(x)

        return infer, {"generator": parameter_count(g)}, f"{sizes['arch']} forward, 1x{sizes['size']}x{sizes['size']}"

    n, c, scale = sizes["batch_size"], sizes["crop_size"], 4
    g = _layout(generator_of[sizes["generator"]](sizes["num_blocks"], sizes["num_features"]), layout).train()
    hr = _layout(torch.rand(n, 3, c, c), layout)
    lr = _layout(torch.rand(n, 3, c // scale, c // scale), layout)
    g_opt = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.9, 0.999))
    counts = {"generator": parameter_count(g)}
    gan = sizes.get("gan", "none")
    pixel = F.l1_loss if sizes.get("pixel_loss") == "l1" else F.mse_loss
    pixel_weight = sizes.get("pixel_weight", 1.0)

    if gan == "none":
        def update():
            g_opt.zero_grad(set_to_none=True)
            loss = pixel(g(lr), hr)
            loss.backward()
            g_opt.step()

        return update, counts, f"G {sizes['generator']} {pixel.__name__}, batch {n}, {c} px"

    d_factory = srgan_discriminator if sizes["discriminator"] == "srgan" else vgg_style_discriminator
    d = _layout(d_factory(c), layout).train()
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.9, 0.999))
    vgg = _layout(vgg19_features(sizes["perceptual_layer"], sizes.get("perceptual_before_activation", False)), layout).eval()
    for p in vgg.parameters():
        p.requires_grad_(False)
    counts["discriminator"] = parameter_count(d)
    counts["vgg"] = sum(p.numel() for p in vgg.parameters())
    feature_scale = sizes.get("perceptual_feature_scale", 1.0)
    criterion = F.l1_loss if sizes.get("perceptual_criterion") == "l1" else F.mse_loss
    adversarial_weight = sizes.get("adversarial_weight", 1e-3)
    bce = F.binary_cross_entropy_with_logits
    relativistic = gan == "relativistic"

    def update():
        # G step: D's parameters take no gradient (the project evaluates D statelessly here).
        for p in d.parameters():
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        sr = g(lr)
        fake = d(sr)
        with torch.no_grad():
            target_features = vgg(hr) * feature_scale
        loss = criterion(vgg(sr) * feature_scale, target_features)
        if pixel_weight:
            loss = loss + pixel_weight * pixel(sr, hr)
        if relativistic:
            with torch.no_grad():
                real = d(hr)
            adversarial = bce(real - fake.mean(), torch.zeros_like(real)) + bce(fake - real.mean(), torch.ones_like(fake))
        else:
            adversarial = bce(fake, torch.ones_like(fake))
        (loss + adversarial_weight * adversarial).backward()
        g_opt.step()
        # D step on HR and the detached SR.
        for p in d.parameters():
            p.requires_grad_(True)
        d_opt.zero_grad(set_to_none=True)
        real, fake = d(hr), d(sr.detach())
        if relativistic:
            d_loss = bce(real - fake.mean(), torch.ones_like(real)) + bce(fake - real.mean(), torch.zeros_like(fake))
        else:
            d_loss = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
        d_loss.backward()
        d_opt.step()

    return update, counts, f"G {sizes['generator']} + D {sizes['discriminator']} ({gan}) + VGG19 {sizes['perceptual_layer']}, batch {n}, {c} px"


def run(workload: str, layout: str, smoke: bool = False, repeats: int | None = None, warmup: int | None = None) -> dict:
    """Seconds per update (training) or per image (inference) of the PyTorch peer, timed as benchmarks.timing does."""
    from benchmarks import inference, training
    from benchmarks.timing import time_repeated

    torch = _torch()
    torch.set_num_threads(os.cpu_count() or 1)
    if workload not in PEER_WORKLOADS or layout not in LAYOUTS:
        raise ValueError(f"unknown workload/layout {workload}/{layout}: {PEER_WORKLOADS} x {LAYOUTS}")
    step, counts, what = build(workload, smoke, layout)
    if workload.startswith("infer_"):
        default_repeats, default_warmup = (2, 1) if smoke else inference.DEFAULT_REPEATS[workload[len("infer_") :]]
    else:
        default_repeats, default_warmup = (2, 1) if smoke else training.DEFAULT_REPEATS[workload]
    timing = time_repeated(step, repeats or default_repeats, default_warmup if warmup is None else warmup)
    return {
        "workload": workload, "layout": layout, "smoke": smoke, "what": what, "parameters": counts,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "seconds_are": "per image" if workload.startswith("infer_") else "per update", **timing,
    }  # fmt: skip


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=PEER_WORKLOADS)
    parser.add_argument("--layout", default="channels_last", choices=LAYOUTS)
    parser.add_argument("--smoke", action="store_true", help="the sizes of benchmarks.run --smoke")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401

        _spandrel_esrgan()
    except ImportError as error:
        sys.exit(f"benchmarks.peer_torch needs PyTorch and spandrel (pip install torch spandrel): {error}")
    print(json.dumps(run(args.workload, args.layout, args.smoke, args.repeats)))


if __name__ == "__main__":
    main()
