"""Keep garbage collection cheap in a long-running app server: freeze the long-lived heap once per process.

A full collection walks every tracked object, and with Streamlit, pandas, Plotly and the app loaded that is
~140,000 objects: 0.1-0.3 s on this 2-CPU machine. ``gc.freeze()`` moves the objects alive after start-up (modules,
classes, caches) to a permanent generation that collections skip; what runs create is still collected as before.
Streamlit's own forced collection after every run (``runner.postScriptGC``) is turned off in .streamlit/config.toml:
even on the frozen heap it walked what page modules, Plotly and the sessions added since, 20-35 ms of each page
switch (bench/browser_pages_bench.py). Python's generational collector still runs by its thresholds.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def freeze_startup_heap() -> None:
    """Called by app.py on every run; does its work once per process, after loading what most pages import."""
    global _frozen
    if _frozen:
        return
    with _lock:
        if _frozen:
            return
        import pandas  # noqa: F401 - loaded now so the modules' own objects are frozen with the rest
        import plotly.graph_objects  # noqa: F401

        gc.collect()  # garbage of the start-up is freed first, not frozen
        gc.freeze()
        _frozen = True
