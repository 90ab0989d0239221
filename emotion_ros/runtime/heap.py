"""Giving freed heap memory back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util


def return_freed_memory() -> bool:
    """Ask glibc to hand its free heap pages back (malloc_trim); True if it could be asked.

    ONNX Runtime reads a graph's file into memory, copies the weights out and frees the file's
    bytes, but glibc keeps freed memory mapped for reuse: after loading the language model
    (150 MB of int8 weights) the process would hold that much more than it uses. Elsewhere
    (musl, macOS) this does nothing.
    """
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return False
    if trim is None:
        return False
    trim(0)
    return True
