"""Audio capture from a sound card with sounddevice (PortAudio)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from emotion_ros.io.audio import PcmChunk, check_sample_rate


class MicrophoneError(RuntimeError):
    """PortAudio is missing, or the device cannot be opened with the requested format."""


class MicrophoneCapture:
    """Delivers (N, channels) float32 chunks stamped with the capture time of their first sample.

    on_chunk is called from PortAudio's thread. clock() gives the time base of the stamps
    (e.g. the node's clock) in seconds. Stamps run on the sample clock (first stamp + samples
    delivered / rate), so they increase steadily however late Python runs the callback; the
    first stamp is the PortAudio ADC time of the first sample on that clock (or the chunk's
    arrival minus its duration, when the driver reports no ADC times), and the sample clock is
    re-anchored when it drifts from that measurement by more than ``resync_after`` seconds
    (samples lost to an overflow, or a sound card running off its nominal rate).
    device: a PortAudio device name or index; None for the default input.
    """

    def __init__(
        self,
        on_chunk: Callable[[PcmChunk], None],
        clock: Callable[[], float],
        device: str | int | None = None,
        sample_rate: int = 16000,
        channels: int = 1,
        chunk: float = 0.1,
        resync_after: float = 0.25,
    ):
        self.on_chunk = on_chunk
        self.clock = clock
        self.device = device
        self.sample_rate = check_sample_rate(sample_rate)
        self.channels = channels
        self.blocksize = max(1, round(chunk * sample_rate))
        self.resync_after = resync_after
        self.overflows = 0
        self.resyncs = 0
        self._stream = None
        self._anchor: float | None = None  # stamp of the first sample since the last (re)sync
        self._delivered = 0  # samples delivered since then

    def start(self) -> None:
        try:
            import sounddevice
        except OSError as exc:  # libportaudio missing
            raise MicrophoneError(f"PortAudio is not available ({exc}); install libportaudio2") from exc
        try:
            self._stream = sounddevice.InputStream(
                device=self.device,
                samplerate=self.sample_rate,
                channels=self.channels,
                blocksize=self.blocksize,
                dtype="float32",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError for unknown devices
            self._stream = None
            which = "the default input device" if self.device is None else repr(self.device)
            raise MicrophoneError(f"cannot open microphone {which}: {exc}") from exc

    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        now = self.clock()
        adc = getattr(time_info, "inputBufferAdcTime", 0.0)
        current = getattr(time_info, "currentTime", 0.0)
        if adc and current and 0.0 <= current - adc < 10.0:
            measured = now - (current - adc)
        else:
            measured = now - frames / self.sample_rate
        self.on_chunk(PcmChunk(indata.copy(), self.sample_rate, self._stamp(measured, frames)))

    def _stamp(self, measured: float, frames: int) -> float:
        """The sample-clock stamp of a chunk of ``frames`` samples measured to start at ``measured``."""
        if self._anchor is not None:
            expected = self._anchor + self._delivered / self.sample_rate
            if abs(measured - expected) > self.resync_after:
                self.resyncs += 1
                self._anchor = None
        if self._anchor is None:
            self._anchor, self._delivered = measured, 0
        stamp = self._anchor + self._delivered / self.sample_rate
        self._delivered += frames
        return stamp

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
