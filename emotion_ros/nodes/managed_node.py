"""Lifecycle plumbing shared by the package's nodes."""

from __future__ import annotations

import threading

from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn

SUCCESS = TransitionCallbackReturn.SUCCESS


class ManagedNode(LifecycleNode):
    """A lifecycle node split into small hooks.

    on_configure (subclass): check parameters and acquire resources; on error
                             ``return self.fail(reason)``.
    start():   when activating (open streams, subscribe); may return self.fail(...).
    work():    if ``worker_name`` is set, runs on its own thread while active; it must
               return soon after ``self.running`` turns False.
    stop():    when deactivating (undo start); safe to call twice.
    release(): when cleaning up or shutting down (undo configure); safe to call twice.
    """

    worker_name: str | None = None

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.failure_reason = ""
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._steady_clock = Clock(clock_type=ClockType.STEADY_TIME)

    def create_wall_timer(self, period: float, callback):
        """A timer every ``period`` s of steady (wall) time: reporting (/diagnostics) and periodic
        work go on under use_sim_time while /clock pauses or has not started."""
        return self.create_timer(period, callback, clock=self._steady_clock)

    def param(self, name: str):
        return self.get_parameter(name).value

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def fail(self, reason: str) -> TransitionCallbackReturn:
        """Log why a transition failed and keep the reason for callers (e.g. the CLI)."""
        self.failure_reason = reason
        self.get_logger().error(reason)
        return TransitionCallbackReturn.FAILURE

    # -- hooks ----------------------------------------------------------------------------
    def start(self) -> TransitionCallbackReturn:
        return SUCCESS

    def work(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} sets worker_name but defines no work()")

    def stop(self) -> None:
        pass

    def release(self) -> None:
        pass

    # -- transitions ------------------------------------------------------------------------
    def on_activate(self, state) -> TransitionCallbackReturn:
        result = self.start()
        if result != SUCCESS:
            return result
        if self.worker_name:
            self._running.set()
            self._worker = threading.Thread(target=self.work, name=self.worker_name, daemon=True)
            self._worker.start()
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._halt()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._halt()
        self.release()
        return SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        return self.on_cleanup(state)

    def _halt(self) -> None:
        self._running.clear()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            self._worker = None
        self.stop()
