"""Background priority for the language model's threads, so perception keeps the cores.

On a 2-core robot an explanation's decoding would take both cores from perception for a second
or more. Linux schedules each thread by its own nice value, and a thread inherits its creator's:
a thread made nicer gets the CPU only where perception leaves it (nice 10 weighs about a tenth
of nice 0). Elsewhere these do nothing.
"""

from __future__ import annotations

import os
import threading
from typing import Callable, TypeVar

Result = TypeVar("Result")
BACKGROUND_NICENESS = 10  # added to the thread's nice value (a non-privileged process can only raise it)


def lower_this_thread(increment: int = BACKGROUND_NICENESS) -> bool:
    """Raise the calling thread's nice value by ``increment``; True if the system did."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except OSError:
        return False
    return True


def made_in_background(make: Callable[[], Result], increment: int = BACKGROUND_NICENESS) -> Result:
    """``make()`` run on a short-lived thread of lower priority: the threads it starts (e.g. an
    ONNX Runtime session's intra-op pool) keep that priority. Its exception is raised here."""
    outcome: dict[str, object] = {}

    def run() -> None:
        lower_this_thread(increment)
        try:
            outcome["result"] = make()
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="background-setup")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
