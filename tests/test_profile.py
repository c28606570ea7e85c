"""benchmarks/profile.py: op-level events of a profiler trace grouped by op type."""

import pytest

from benchmarks import profile

xplane_pb2 = pytest.importorskip("tensorflow.tsl.profiler.protobuf.xplane_pb2")

PS_PER_MS = 10**9


def write_trace(path, lines):
    """An XSpace with one /host:CPU plane; lines: {line name: [(event name, start ms, duration ms)]}."""
    space = xplane_pb2.XSpace()
    plane = space.planes.add(name="/host:CPU")
    ids = {}
    for line_id, (line_name, events) in enumerate(lines.items(), start=1):
        line = plane.lines.add(id=line_id, name=line_name, timestamp_ns=1000)
        for name, start_ms, duration_ms in events:
            if name not in ids:
                ids[name] = len(ids) + 1
                plane.event_metadata[ids[name]].id = ids[name]
                plane.event_metadata[ids[name]].name = name
            line.events.add(metadata_id=ids[name], offset_ps=start_ms * PS_PER_MS, duration_ps=duration_ms * PS_PER_MS)
    space.planes.add(name="/host:metadata")
    with open(path, "wb") as handle:
        handle.write(space.SerializeToString())


def test_groups_ops_by_type_with_async_thunk_spans(tmp_path):
    path = str(tmp_path / "trace.xplane.pb")
    write_trace(
        path,
        {
            # The caller's thread: Python and runtime annotations (skipped), a TF op run inline,
            # and an XLA thunk launched here (1 ms) that completes on the pool thread at 45 ms.
            "profile.py": [
                ("one_step_on_data", 0, 100),
                ("EagerExecute", 0, 100),
                ("KernelAndDeviceFunc::Run", 0, 100),
                ("__inference_step_12:__inference_step_12", 0, 100),
                ("model/conv/Conv2D:Conv2D", 1, 30),
                ("convolution.3", 35, 1),
            ],
            # A pool thread: thunks with completion markers, bookkeeping (skipped), TF ops, one nested.
            "tf_numa_-1_Eigen/1": [
                ("ThunkExecutor::Execute", 0, 100),
                ("ThreadpoolListener::StartRegion", 0, 1),
                ("convolution.12", 2, 20),
                ("end: convolution.12", 22, 0),
                ("copy_reverse_fusion.5", 30, 2),
                ("end: convolution.3", 45, 0),
                ("end: copy_reverse_fusion.5", 40, 0),
                ("model/concat/ConcatV2:_FusedConcat", 50, 8),
                ("model/concat/inner:Identity", 51, 2),  # nested inside ConcatV2: not counted again
                ("convolution.7", 60, 20),
                ("end: convolution.7", 80, 0),
            ],
        },
    )
    result = profile.summarize(path, steps=2, wall_s=0.2, top=3)
    ms = {entry["op"]: entry["ms_per_step"] for entry in result["ops"]}
    # Totals over 2 steps (ms): convolution 20 + 10 (launch 35 -> marker 45) + 20 = 50,
    # Conv2D 30, copy_reverse_fusion 30 -> 40 = 10, _FusedConcat 8.
    assert ms == pytest.approx({"convolution": 25.0, "Conv2D": 15.0, "copy_reverse_fusion": 5.0, "other": 4.0})
    assert result["op_ms_per_step"] == pytest.approx(49.0)
    assert result["wall_ms_per_step"] == pytest.approx(100.0)
    assert sum(entry["share"] for entry in result["ops"]) == pytest.approx(1.0)
    assert [entry["op"] for entry in result["ops"]][:3] == ["convolution", "Conv2D", "copy_reverse_fusion"]


def test_op_type_names():
    assert profile.op_type("generator/rdb_1/conv_2/Conv2D:_FusedConv2D") == "_FusedConv2D"
    assert profile.op_type("convolution-base-dilated.11") == "convolution-base-dilated"
    assert profile.op_type("convolution") == "convolution"


def test_conv_layers_follow_fused_activations_back_to_the_conv(tmp_path):
    from benchmarks import flops
    from sr_keras.archs import RRDBNet

    model = RRDBNet(num_blocks=1, num_features=8, growth=4)
    path = str(tmp_path / "trace.xplane.pb")
    write_trace(
        path,
        {
            "tf_Compute/1": [
                # Grappler names a conv fused with its LeakyReLU after the activation layer.
                ("rrdbnet_1/body_0_rdb1_lrelu1_1/LeakyRelu:_FusedConv2D", 0, 10),
                ("rrdbnet_1/conv_last_1/BiasAdd:_FusedConv2D", 20, 4),
                ("rrdbnet_1/conv_last_1/BiasAdd:_MklNativeFusedConv2D", 30, 4),  # oneDNN's name on AVX-512 CPUs
            ]
        },
    )
    rows = profile.conv_layers(path, model, (1, 16, 16, 3), steps=2, peak_gflops=100.0)
    by_layer = flops.count_flops(model, (1, 16, 16, 3)).by_layer
    assert [row["layer"] for row in rows] == ["body_0_rdb1_conv1", "conv_last"]
    assert rows[0]["ms"] == pytest.approx(5.0) and rows[1]["ms"] == pytest.approx(4.0)
    assert rows[1]["gflops_per_s"] == pytest.approx(by_layer["conv_last"] / 0.004 / 1e9)
    assert rows[1]["share_of_matmul_peak"] == pytest.approx(rows[1]["gflops_per_s"] / 100.0)
