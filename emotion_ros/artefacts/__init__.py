"""What an export directory holds and how it is trusted: the ONNX graphs of a checkpoint, their
manifest, and TensorRT engines built from them. Shared by `export/` (which writes and checks
them) and `runtime/` (which loads them)."""
