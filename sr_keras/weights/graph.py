"""Check that an ncnn network computes what a Keras functional model computes, layer by layer,
and copy the ncnn convolution weights into the matching Keras layers.

Both graphs are first reduced to the same small vocabulary of "canonical" operations:

  input                      ncnn Input                 | keras InputLayer
  conv  (kh, kw, in, out,    ncnn Convolution, with its | keras Conv2D (groups 1), with a
         stride, dilation,   fused activation_type or a |   following LeakyReLU / ReLU layer
         padding, bias, act) following ReLU layer       |   folded in when it is the only reader
  concat (channels)          ncnn Concat axis 0         | keras Concatenate axis -1
  sum  sum_i c_i * x_i       ncnn Eltwise SUM (coeffs), | keras Add, Subtract, ScaledResidual
                             BinaryOp add/sub, BinaryOp |   (x + s * y)
                             mul/div by a scalar        |
  upsample (mode, sh, sw)    ncnn Interp by a factor    | keras UpSampling2D
  act (leaky, slope)         ncnn ReLU not after a conv | keras LeakyReLU / ReLU not after a conv

ncnn Split layers are aliases.  A sum that feeds only another sum is inlined into it, so
x + 0.2 * y matches whether it is written as one Eltwise with coefficients (Real-ESRGAN's ncnn
export), as BinaryOp mul + BinaryOp add, or as one Keras ScaledResidual layer.

`match_ncnn_to_keras` walks the ncnn layers in file order.  Each one must have a Keras
counterpart of the same kind and attributes that reads the counterparts of its inputs (in order;
sums compare as sets of (coefficient, input)).  The first ncnn layer without one raises
`GraphMismatchError` naming the .param file, the line, the layer, what it computes and what the
Keras model computes there.  Keras layers left without an ncnn counterpart are an error too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sr_keras.weights import ncnn

COEF_TOLERANCE = 1e-5


class GraphMismatchError(ValueError):
    """The ncnn graph does not compute what the Keras model computes; names the file and layer."""


@dataclass
class CanonicalNode:
    kind: str  # input, conv, concat, sum, upsample, act, or an unsupported layer type
    attrs: tuple
    inputs: list[int]  # canonical node indices, in order
    coefs: list[float] | None = None  # for sums: one coefficient per input
    label: str = ""  # where it comes from (ncnn layer + line, or keras layer names)
    sources: list = field(default_factory=list)  # ncnn layers / keras layers folded into this node
    absorbed: bool = False  # inlined into the sum that reads it

    def describe(self, input_names: list[str] | None = None) -> str:
        a = self.attrs
        if self.kind == "conv":
            kh, kw, cin, cout, stride, dilation, padding, bias, act = a
            text = f"conv {kh}x{kw} {cin}->{cout}"
            if stride != (1, 1):
                text += f" stride {stride[0]}x{stride[1]}"
            if dilation != (1, 1):
                text += f" dilation {dilation[0]}x{dilation[1]}"
            text += f" pad {padding if isinstance(padding, str) else '/'.join(map(str, padding))}"
            text += "" if bias else " no-bias"
            return text + f" + {_describe_act(act)}"
        if self.kind == "sum":
            names = input_names or [f"in{i}" for i in range(len(self.inputs))]
            return "sum " + " + ".join(f"{c:g}*{name}" for c, name in zip(self.coefs, names))
        if self.kind == "upsample":
            return f"upsample {a[0]} x{a[1]:g},x{a[2]:g}"
        if self.kind == "concat":
            return f"concat {len(self.inputs)} inputs on {a[0]}"
        if self.kind == "act":
            return _describe_act(a)
        if self.kind == "input":
            return "input"
        return f"{self.kind} {a}"


def _describe_act(act) -> str:
    if act is None:
        return "linear"
    if act[0] == "leaky":
        return "ReLU" if act[1] == 0 else f"LeakyReLU({act[1]:g})"
    return f"activation {act}"


@dataclass
class CanonicalGraph:
    nodes: list[CanonicalNode]
    outputs: list[int]
    source: str  # for messages

    def consumers(self) -> list[list[int]]:
        result: list[list[int]] = [[] for _ in self.nodes]
        for index, node in enumerate(self.nodes):
            if node.absorbed:
                continue
            for i in dict.fromkeys(node.inputs):
                result[i].append(index)
        return result


def _add_sum(nodes: list[CanonicalNode], reader_counts: list[int], terms: list[tuple[float, int]], label, sources) -> int:
    """Append a sum node, inlining input sums that nobody else reads."""
    flat: list[tuple[float, int]] = []
    for coef, index in terms:
        inner = nodes[index]
        if inner.kind == "sum" and reader_counts[index] == 1 and not inner.absorbed:
            inner.absorbed = True
            flat.extend((coef * c, i) for c, i in zip(inner.coefs, inner.inputs))
            sources = [*inner.sources, *sources]
        else:
            flat.append((coef, index))
    nodes.append(CanonicalNode("sum", (), [i for _, i in flat], [c for c, _ in flat], label, list(sources)))
    return len(nodes) - 1


# ------------------------------------------------------------------------------------------ ncnn


def _ncnn_pad(geometry: dict[str, int], layer: ncnn.NcnnLayer):
    pads = (geometry["pad_top"], geometry["pad_bottom"], geometry["pad_left"], geometry["pad_right"])
    if pads[2] in (-233, -234):  # SAME_UPPER / SAME_LOWER
        return "same" if pads[2] == -233 or geometry["stride_w"] == 1 else "same_lower"
    kh, kw = geometry["kernel_h"], geometry["kernel_w"]
    dh, dw = geometry["dilation_h"], geometry["dilation_w"]
    if (geometry["stride_h"], geometry["stride_w"]) == (1, 1) and kh % 2 and kw % 2:
        if pads == (dh * (kh - 1) // 2,) * 2 + (dw * (kw - 1) // 2,) * 2:
            return "same"
    return pads


def ncnn_canonical_graph(model: ncnn.NcnnModel) -> CanonicalGraph:
    """Reduce an ncnn model to canonical nodes (see the module docstring)."""
    source = model.param_path
    alias: dict[str, str] = {}  # split outputs -> split input (transitively the root blob)
    for layer in model.layers:
        if layer.type == "Split":
            for blob in layer.outputs:
                alias[blob] = alias.get(layer.inputs[0], layer.inputs[0])
    readers: dict[str, list[ncnn.NcnnLayer]] = {}
    for layer in model.layers:
        if layer.type != "Split":
            for blob in layer.inputs:
                readers.setdefault(alias.get(blob, blob), []).append(layer)

    nodes: list[CanonicalNode] = []
    node_of: dict[str, int] = {}  # root blob -> node
    folded: set[int] = set()  # id() of ReLU layers folded into their convolution
    reader_counts: list[int] = []

    def where(layer: ncnn.NcnnLayer) -> str:
        return f"{source} line {layer.line}: {layer.type} {layer.name}"

    def inputs_of(layer: ncnn.NcnnLayer) -> list[int]:
        return [node_of[alias.get(blob, blob)] for blob in layer.inputs]

    def emit(node: CanonicalNode, layer: ncnn.NcnnLayer) -> None:
        if node is not None:
            nodes.append(node)
        index = len(nodes) - 1
        for blob in layer.outputs:
            node_of[blob] = index
        while len(reader_counts) < len(nodes):
            reader_counts.append(0)
        reader_counts[index] = sum(len(readers.get(blob, [])) for blob in layer.outputs)

    for layer in model.layers:
        t, label = layer.type, where(layer)
        if t == "Split" or id(layer) in folded:
            continue
        if t == "Input":
            emit(CanonicalNode("input", (), [], label=label, sources=[layer]), layer)
        elif t == "Convolution" and not layer.get(19, 0):
            g = ncnn.conv_geometry(layer)
            act_type = int(layer.get(9, 0))
            act_params = layer.get(10, [])
            act = {0: None, 1: ("leaky", 0.0)}.get(act_type, ("type", act_type, tuple(act_params)))
            if act_type == 2:
                act = ("leaky", float(act_params[0]) if act_params else 0.0)
            sources = [layer]
            out_readers = readers.get(layer.outputs[0], [])
            if act is None and len(out_readers) == 1 and out_readers[0].type == "ReLU":
                relu = out_readers[0]
                act = ("leaky", float(relu.get(0, 0.0)))
                folded.add(id(relu))
                sources.append(relu)
            attrs = (
                g["kernel_h"], g["kernel_w"], g["in_channels"], g["out_channels"],
                (g["stride_h"], g["stride_w"]), (g["dilation_h"], g["dilation_w"]),
                _ncnn_pad(g, layer), bool(g["bias_term"]), act,
            )  # fmt: skip
            node = CanonicalNode("conv", attrs, inputs_of(layer), label=label, sources=sources)
            emit(node, layer)
            if len(sources) == 2:  # the ReLU's output is this node too
                emit(None, sources[1])
        elif t == "ReLU":
            emit(CanonicalNode("act", ("leaky", float(layer.get(0, 0.0))), inputs_of(layer), label=label, sources=[layer]), layer)
        elif t == "Concat":
            axis = int(layer.get(0, 0))
            emit(CanonicalNode("concat", ("channels" if axis == 0 else f"axis {axis}",), inputs_of(layer), label=label, sources=[layer]), layer)
        elif t == "Eltwise" and int(layer.get(0, 1)) == 1:
            ins = inputs_of(layer)
            coefs = [float(c) for c in layer.get(1, [])] or [1.0] * len(ins)
            if len(coefs) != len(ins):
                raise GraphMismatchError(f"{label}: {len(coefs)} coefficients for {len(ins)} inputs")
            _add_sum(nodes, reader_counts, list(zip(coefs, ins)), label, [layer])
            emit(None, layer)
        elif t == "BinaryOp" and int(layer.get(0, 0)) in (0, 1, 2, 3):
            op, with_scalar = int(layer.get(0, 0)), int(layer.get(1, 0))
            ins = inputs_of(layer)
            if with_scalar and op in (2, 3) and len(ins) == 1:
                b = float(layer.get(2, 0.0))
                terms = [(b if op == 2 else 1.0 / b, ins[0])]
            elif not with_scalar and op in (0, 1) and len(ins) == 2:
                terms = [(1.0, ins[0]), (1.0 if op == 0 else -1.0, ins[1])]
            else:
                terms = None
            if terms is None:
                emit(CanonicalNode(f"BinaryOp op {op}", (with_scalar, layer.get(2, 0.0)), ins, label=label, sources=[layer]), layer)
            else:
                _add_sum(nodes, reader_counts, terms, label, [layer])
                emit(None, layer)
        elif t == "Interp" and not layer.get(3, 0) and not layer.get(4, 0) and not layer.get(5, 0):
            mode = {1: "nearest", 2: "bilinear", 3: "bicubic"}.get(int(layer.get(0, 0)), f"type {layer.get(0, 0)}")
            attrs = (mode, float(layer.get(1, 1.0)), float(layer.get(2, 1.0)))
            emit(CanonicalNode("upsample", attrs, inputs_of(layer), label=label, sources=[layer]), layer)
        else:
            emit(CanonicalNode(t, tuple(sorted(layer.params.items(), key=str)), inputs_of(layer), label=label, sources=[layer]), layer)

    read = {alias.get(b, b) for layer in model.layers if layer.type != "Split" for b in layer.inputs}
    outputs = [node_of[b] for layer in model.layers for b in layer.outputs if alias.get(b, b) == b and b not in read]
    return CanonicalGraph(nodes, list(dict.fromkeys(outputs)), model.param_path)


# ----------------------------------------------------------------------------------------- keras


def _network_nodes(model) -> list:
    """The Keras graph nodes of a functional model, in the order of `model.operations`."""
    by_depth = getattr(model, "_nodes_by_depth", None)
    if by_depth is None:
        raise GraphMismatchError(f"{model.name}: not a functional Keras model (no layer graph to compare)")
    members = {id(node) for nodes in by_depth.values() for node in nodes}
    ordered = []
    for op in model.operations:
        ordered.extend(node for node in op._inbound_nodes if id(node) in members)
    return ordered


def _keras_act(activation) -> tuple | None:
    name = getattr(activation, "__name__", str(activation))
    if name == "linear":
        return None
    if name == "relu":
        return ("leaky", 0.0)
    return ("keras", name)


def _keras_relu_slope(layer) -> float | None:
    import keras

    if isinstance(layer, keras.layers.LeakyReLU):
        return float(layer.negative_slope)
    if isinstance(layer, keras.layers.ReLU) and layer.max_value is None and not layer.threshold:
        return float(layer.negative_slope)
    return None


def keras_canonical_graph(model) -> CanonicalGraph:
    """Reduce a functional Keras model to canonical nodes (see the module docstring)."""
    import keras

    from sr_keras.archs.layers import ScaledResidual

    graph_nodes = _network_nodes(model)
    readers: dict[int, list] = {}  # id(keras tensor) -> nodes reading it
    for node in graph_nodes:
        for tensor in node.input_tensors:
            readers.setdefault(id(tensor), []).append(node)
    nodes: list[CanonicalNode] = []
    reader_counts: list[int] = []
    node_of: dict[int, int] = {}  # id(keras tensor) -> canonical node
    folded: set[int] = set()

    def emit(node: CanonicalNode | None, keras_node) -> None:
        if node is not None:
            nodes.append(node)
            reader_counts.append(0)
        index = len(nodes) - 1
        for tensor in keras_node.outputs:
            node_of[id(tensor)] = index
        reader_counts[index] = sum(len(readers.get(id(t), [])) for t in keras_node.outputs)

    for keras_node in graph_nodes:
        layer = keras_node.operation
        if id(keras_node) in folded:
            continue
        ins = [node_of[id(t)] for t in keras_node.input_tensors]
        label = f"{model.name} layer {layer.name} ({type(layer).__name__})"
        slope = _keras_relu_slope(layer)
        if isinstance(layer, keras.layers.InputLayer):
            emit(CanonicalNode("input", (), [], label=label, sources=[layer]), keras_node)
        elif isinstance(layer, keras.layers.Conv2D) and type(layer).__name__ == "Conv2D" and layer.groups == 1:
            if layer.data_format != "channels_last":
                raise GraphMismatchError(f"{label}: only channels_last models are supported")
            kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
            act = _keras_act(layer.activation)
            sources = [layer]
            out_readers = readers.get(id(keras_node.outputs[0]), [])
            fold = None
            if act is None and len(out_readers) == 1 and _keras_relu_slope(out_readers[0].operation) is not None:
                fold = out_readers[0]
                act = ("leaky", _keras_relu_slope(fold.operation))
                folded.add(id(fold))
                sources.append(fold.operation)
                label = f"{model.name} layers {layer.name} + {fold.operation.name}"
            padding = "same" if layer.padding == "same" else (0, 0, 0, 0)
            attrs = (kh, kw, cin, cout, tuple(layer.strides), tuple(layer.dilation_rate), padding, bool(layer.use_bias), act)
            emit(CanonicalNode("conv", attrs, ins, label=label, sources=sources), keras_node)
            if fold is not None:
                emit(None, fold)
        elif slope is not None:
            emit(CanonicalNode("act", ("leaky", slope), ins, label=label, sources=[layer]), keras_node)
        elif isinstance(layer, keras.layers.Concatenate):
            rank = len(keras_node.outputs[0].shape)
            axis = layer.axis % rank if rank else layer.axis
            emit(CanonicalNode("concat", ("channels" if axis == rank - 1 else f"axis {layer.axis}",), ins, label=label, sources=[layer]), keras_node)
        elif isinstance(layer, (ScaledResidual, keras.layers.Add, keras.layers.Subtract)):
            if isinstance(layer, ScaledResidual):
                coefs = [1.0, float(layer.scale)]
            elif isinstance(layer, keras.layers.Subtract):
                coefs = [1.0, -1.0]
            else:
                coefs = [1.0] * len(ins)
            _add_sum(nodes, reader_counts, list(zip(coefs, ins)), label, [layer])
            reader_counts.append(0)
            emit(None, keras_node)
        elif isinstance(layer, keras.layers.UpSampling2D):
            sh, sw = layer.size
            emit(CanonicalNode("upsample", (layer.interpolation, float(sh), float(sw)), ins, label=label, sources=[layer]), keras_node)
        else:
            emit(CanonicalNode(type(layer).__name__, (), ins, label=label, sources=[layer]), keras_node)

    outputs = [node_of[id(t)] for t in model.outputs]
    return CanonicalGraph(nodes, outputs, model.name)


# -------------------------------------------------------------------------------------- matching


def _same_attrs(a: CanonicalNode, b: CanonicalNode) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "conv":
        *sa, act_a = a.attrs
        *sb, act_b = b.attrs
        if sa != sb or (act_a is None) != (act_b is None):
            return False
        if act_a is None:
            return True
        return act_a[0] == act_b[0] and np.allclose(act_a[1:], act_b[1:], atol=COEF_TOLERANCE)
    if a.kind in ("act", "upsample"):
        return a.attrs[0] == b.attrs[0] and np.allclose(a.attrs[1:], b.attrs[1:], atol=COEF_TOLERANCE)
    return a.attrs == b.attrs


def _same_inputs(n: CanonicalNode, k: CanonicalNode, pairing: dict[int, int]) -> bool:
    """Same (paired) inputs in the same order; for two sums, the same inputs in any order."""
    mapped = [pairing.get(i, -1) for i in n.inputs]
    if n.kind == "sum" and k.kind == "sum":
        return sorted(mapped) == sorted(k.inputs)
    return mapped == k.inputs


def _same_coefficients(n: CanonicalNode, k: CanonicalNode, pairing: dict[int, int]) -> bool:
    """Two sums of the same inputs weigh each input alike (inputs may repeat: greedy pairing)."""
    left = list(zip(k.inputs, k.coefs))
    for i, c in zip((pairing.get(i, -1) for i in n.inputs), n.coefs):
        hit = next((j for j, (ki, kc) in enumerate(left) if ki == i and abs(kc - c) <= COEF_TOLERANCE), None)
        if hit is None:
            return False
        left.pop(hit)
    return not left


def _input_names(node: CanonicalNode, graph: CanonicalGraph) -> list[str]:
    return [graph.nodes[i].sources[-1].name for i in node.inputs]


def _detail(node: CanonicalNode, graph: CanonicalGraph) -> str:
    names = _input_names(node, graph)
    if node.kind == "sum":
        return node.describe(names)
    return f"{node.describe()}, reading {', '.join(names) or 'nothing'}"


def _explain(node: CanonicalNode, graph: CanonicalGraph) -> str:
    return f"{node.label}: {_detail(node, graph)}"


def match_ncnn_to_keras(ncnn_model: ncnn.NcnnModel, keras_model) -> list[tuple[CanonicalNode, CanonicalNode]]:
    """Pair every ncnn operation with the Keras operation computing the same thing (module doc).

    Returns (ncnn node, keras node) pairs in ncnn file order; raises `GraphMismatchError` at the
    first ncnn layer without a counterpart.
    """
    ng = ncnn_canonical_graph(ncnn_model)
    kg = keras_canonical_graph(keras_model)
    k_readers = kg.consumers()
    k_inputs = [i for i, node in enumerate(kg.nodes) if node.kind == "input"]
    pairing: dict[int, int] = {}
    used: set[int] = set()
    pairs = []
    target = f"{keras_model.name} ({type(keras_model).__name__})"
    for index, node in enumerate(ng.nodes):
        if node.absorbed:
            continue
        if node.inputs:
            first = pairing.get(node.inputs[0])
            structural = [k for k in k_readers[first] if k not in used and _same_inputs(node, kg.nodes[k], pairing)]
        else:
            structural = [k for k in k_inputs if k not in used]
        matches = [
            k for k in structural
            if _same_attrs(node, kg.nodes[k]) and (node.kind != "sum" or _same_coefficients(node, kg.nodes[k], pairing))
        ]  # fmt: skip
        if not matches:
            what = f"{node.label} ({_detail(node, ng)})"
            if structural:
                expected = "; ".join(_explain(kg.nodes[k], kg) for k in structural[:3])
                message = f"{what} does not match {target}, which computes there: {expected}"
            else:
                readers = [k for k in (k_readers[pairing[node.inputs[0]]] if node.inputs else []) if k not in used]
                expected = "; ".join(_explain(kg.nodes[k], kg) for k in readers[:3])
                message = f"{what} has no counterpart in {target}" + (f"; the layers reading its input there are: {expected}" if expected else "")
            raise GraphMismatchError(message)
        k = matches[0]
        pairing[index] = k
        used.add(k)
        pairs.append((node, kg.nodes[k]))
    left = [node for i, node in enumerate(kg.nodes) if not node.absorbed and i not in used]
    if left:
        raise GraphMismatchError(
            f"{ng.source}: the ncnn model ends before {target} does: no ncnn layer for {left[0].label} "
            f"({left[0].describe()}) and {len(left) - 1} more"
        )
    if sorted(pairing.get(i, -1) for i in ng.outputs) != sorted(kg.outputs):
        raise GraphMismatchError(f"{ng.source}: the ncnn output blob(s) are not the outputs of {target}")
    return pairs


def load_ncnn_weights(keras_model, ncnn_model: ncnn.NcnnModel) -> int:
    """Check the graphs match (`match_ncnn_to_keras`) and copy every convolution's weights.

    `ncnn_model` must have its weights read (`ncnn.load_ncnn`).  Returns the number of
    parameters copied, which is all of the Keras model's.
    """
    copied = 0
    for n, k in match_ncnn_to_keras(ncnn_model, keras_model):
        if n.kind != "conv":
            continue
        layer, conv = k.sources[0], n.sources[0]
        kernel = ncnn.conv_kernel_hwio(conv)
        weights = [kernel, ncnn.conv_bias(conv)] if layer.use_bias else [kernel]
        for variable, value in zip(layer.weights, weights):
            if tuple(variable.shape) != value.shape:  # cannot happen after matching; cheap insurance
                raise GraphMismatchError(f"{n.label}: weights {value.shape} do not fit {k.label} {tuple(variable.shape)}")
        layer.set_weights(weights)
        copied += sum(w.size for w in weights)
    total = sum(int(np.prod(w.shape)) for w in keras_model.weights)
    if copied != total:
        raise GraphMismatchError(f"{ncnn_model.param_path}: copied {copied} of {keras_model.name}'s {total} parameters")
    return copied
