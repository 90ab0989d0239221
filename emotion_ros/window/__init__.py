"""Time-synchronised sliding windows over camera frames and audio."""

from emotion_ros.window.assembler import AssemblerCounters, WindowAssembler
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.window import Window

__all__ = ["AssemblerCounters", "Window", "WindowAssembler", "WindowConfig"]
