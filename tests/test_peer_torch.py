"""benchmarks.peer_torch: the ratio statistics and the architecture check (no torch needed), and a smoke run (torch needed)."""

import importlib.util

import numpy as np
import pytest

from benchmarks import peer_torch


def test_ratio_summary_by_hand():
    summary = peer_torch.ratio_summary([2.0, 3.0, 1.0], [1.0, 2.0, 2.0])
    assert summary["ratios"] == [2.0, 1.5, 0.5]
    assert (summary["min"], summary["median"], summary["max"]) == (0.5, 1.5, 2.0)
    assert peer_torch.ratio_summary([1.0, 3.0], [1.0, 1.0])["median"] == 2.0  # even count: mean of the middle two
    with pytest.raises(ValueError, match="same positive number"):
        peer_torch.ratio_summary([1.0], [1.0, 2.0])


def test_parameter_check_names_every_mismatch():
    peer_torch.check_parameter_counts("w", {"generator": 10, "vgg": 5}, {"generator": 10, "vgg": 5})
    with pytest.raises(ValueError, match=r"w: .*discriminator: PyTorch None vs project 7; generator: PyTorch 11 vs project 10"):
        peer_torch.check_parameter_counts("w", {"generator": 11, "vgg": 5}, {"generator": 10, "vgg": 5, "discriminator": 7})


def test_project_parameter_counts_are_the_papers_networks():
    # Hand-computed sizes: SRResNet (16 blocks, 64 features) 1,550,659 trainable parameters (BN gamma
    # and beta included); VGG19's 16 convs up to conv5_4 20,024,384; SRGAN D at 32 px by layer.
    assert peer_torch.project_parameter_counts("infer_srresnet", smoke=False) == {"generator": 1_550_659}
    srgan = peer_torch.project_parameter_counts("srgan_vgg54_update", smoke=True)
    assert srgan["vgg"] == 20_024_384
    pairs = [(64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512)]
    convs = 3 * 64 * 9 + 64 + sum(cin * cout * 9 + 2 * cout for cin, cout in pairs)  # no bias before BN; BN gamma, beta
    assert srgan["discriminator"] == convs + (2 * 2 * 512 * 1024 + 1024) + (1024 + 1)  # 32 px -> 2x2x512 -> dense 1024 -> 1


def test_project_side_is_what_sr_train_runs_by_default():
    assert peer_torch.project_variant("srresnet_mse_update", jit_compile=True) == "srresnet_mse_update"
    assert peer_torch.project_variant("rrdbnet_l1_update", jit_compile=False) == "rrdbnet_l1_update_no_xla"
    assert peer_torch.project_variant("infer_rrdbnet", jit_compile=False) == "infer_rrdbnet"


def test_project_inference_is_the_forward_sr_upscale_runs():
    # The keras_upscaler backend is sr-upscale's path (BN folded, XLA where it wins); keras is the model as built.
    srresnet = {"backends": {"keras": {"median_s": 1.0}, "keras_upscaler": {"median_s": 0.9}, "keras_folded_bn": {"median_s": 0.95}}}
    assert peer_torch.project_seconds("infer_srresnet", srresnet) == 0.9
    assert peer_torch.project_seconds("infer_rrdbnet", {"backends": {"keras": {"median_s": 4.0}}}) == 4.0
    assert peer_torch.project_seconds("srresnet_mse_update", {"median_s": 2.0}) == 2.0


def test_table_lists_every_workload():
    result = {"srresnet_mse_update": {"project_s": [1.0, 1.2], "torch": {
        layout: {"seconds": [1.0, 1.0], "project_over_torch": peer_torch.ratio_summary([1.0, 1.2], [1.0, 1.0])} for layout in peer_torch.LAYOUTS}}}
    text = peer_torch.table(result)
    assert "srresnet_mse_update" in text and "1.00/ 1.10/ 1.20" in text


@pytest.mark.skipif(importlib.util.find_spec("torch") is None or importlib.util.find_spec("spandrel") is None,
                    reason="needs torch and spandrel (pip install torch spandrel)")
@pytest.mark.parametrize("workload", ["srresnet_mse_update", "infer_rrdbnet"])
def test_smoke_peer_runs_with_the_projects_parameter_counts(workload):
    result = peer_torch.run(workload, "channels_last", smoke=True, repeats=1, warmup=0)
    assert result["median_s"] > 0 and np.isfinite(result["median_s"])
    peer_torch.check_parameter_counts(workload, result["parameters"], peer_torch.project_parameter_counts(workload, smoke=True))
