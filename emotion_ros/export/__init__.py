"""Checkpoint -> ONNX graphs (and, for GPUs, TensorRT engines) with parity checks and export profiles."""
