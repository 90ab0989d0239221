"""Checkpoint -> ONNX graphs (and, for GPUs, TensorRT engines), with the metadata to trust them."""
