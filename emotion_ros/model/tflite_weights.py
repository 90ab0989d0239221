"""Convolution weights out of a TensorFlow Lite flatbuffer, without TensorFlow.

MediaPipe ships its detectors as `.tflite` files whose constant tensors are float16 (or
float32) buffers, turned into float32 by DEQUANTIZE ops at run time. This reads, in graph
order, every CONV_2D and DEPTHWISE_CONV_2D with its weight and bias as PyTorch-layout float32
arrays, so a PyTorch rebuild of the network can take them one by one (shapes checked). Used at
build time only: the built checkpoint is safetensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# tflite.TensorType values this reader understands.
_DTYPES = {0: np.float32, 1: np.float16}


@dataclass(frozen=True)
class TfliteConv:
    """kind: "conv" or "depthwise"; weight in PyTorch layout (out, in / groups, kh, kw); bias (out,)."""

    kind: str
    weight: np.ndarray
    bias: np.ndarray
    stride: int


class TfliteFormatError(ValueError):
    """The file is not a TFLite model this reader understands."""


def read_convolutions(path: str | Path) -> list[TfliteConv]:
    """Every convolution of the model's first subgraph, in execution order."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.Conv2DOptions import Conv2DOptions
    from tflite.DepthwiseConv2DOptions import DepthwiseConv2DOptions

    buffer = Path(path).read_bytes()
    if buffer[4:8] != b"TFL3":  # the flatbuffer file identifier of every TFLite model
        raise TfliteFormatError(f"{path}: not a TFLite model (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(buffer, 0)
        graph = model.Subgraphs(0) if model.SubgraphsLength() else None
    except Exception as error:  # flatbuffers raises assorted errors on corrupt bytes
        raise TfliteFormatError(f"{path}: corrupt TFLite model ({error})") from error
    if graph is None:
        raise TfliteFormatError(f"{path}: the model has no graph")

    def opcode(op) -> int:
        code = model.OperatorCodes(op.OpcodeIndex())
        return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())

    producers = {}  # tensor index -> the DEQUANTIZE op's input tensor
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if opcode(op) == BuiltinOperator.DEQUANTIZE:
            producers[op.Outputs(0)] = op.Inputs(0)

    def constant(index: int) -> np.ndarray:
        index = producers.get(index, index)
        tensor = graph.Tensors(index)
        if tensor.Type() not in _DTYPES:
            raise TfliteFormatError(f"{path}: tensor {tensor.Name()!r} has unsupported type {tensor.Type()}")
        data = model.Buffers(tensor.Buffer()).DataAsNumpy()
        if not isinstance(data, np.ndarray) or data.size == 0:
            raise TfliteFormatError(f"{path}: tensor {tensor.Name()!r} is not a constant")
        values = np.frombuffer(data.tobytes(), dtype=_DTYPES[tensor.Type()])
        return values.reshape(tensor.ShapeAsNumpy()).astype(np.float32)

    convolutions = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = opcode(op)
        if code not in (BuiltinOperator.CONV_2D, BuiltinOperator.DEPTHWISE_CONV_2D):
            continue
        depthwise = code == BuiltinOperator.DEPTHWISE_CONV_2D
        options = DepthwiseConv2DOptions() if depthwise else Conv2DOptions()
        table = op.BuiltinOptions()
        options.Init(table.Bytes, table.Pos)
        weight, bias = constant(op.Inputs(1)), constant(op.Inputs(2))
        # TFLite: conv (out, kh, kw, in); depthwise (1, kh, kw, channels).
        weight = weight.transpose(3, 0, 1, 2) if depthwise else weight.transpose(0, 3, 1, 2)
        convolutions.append(TfliteConv("depthwise" if depthwise else "conv", np.ascontiguousarray(weight), bias,
                                       options.StrideH()))
    return convolutions


def load_convolutions(modules, convolutions: list[TfliteConv], source: str) -> None:
    """Copy ``convolutions`` into the torch.nn.Conv2d ``modules`` (same order), checking each
    shape, kind and stride; raises TfliteFormatError naming the first mismatch."""
    import torch

    modules = list(modules)
    if len(modules) != len(convolutions):
        raise TfliteFormatError(f"{source}: {len(convolutions)} convolutions, the network has {len(modules)}")
    for i, (module, conv) in enumerate(zip(modules, convolutions)):
        kind = "depthwise" if module.groups > 1 else "conv"
        if (tuple(module.weight.shape), kind, module.stride[0]) != (conv.weight.shape, conv.kind, conv.stride):
            raise TfliteFormatError(
                f"{source}: convolution {i} is {conv.kind} {conv.weight.shape} stride {conv.stride}, "
                f"the network expects {kind} {tuple(module.weight.shape)} stride {module.stride[0]}")
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(conv.weight))
            module.bias.copy_(torch.from_numpy(conv.bias))
