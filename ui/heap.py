"""Keep Streamlit's collection after every script run cheap: freeze the long-lived heap once per server process.

Streamlit calls ``gc.collect()`` after each run (``runner.postScriptGC``, on by default, there to stop session
garbage piling up). A full collection walks every tracked object, and with Streamlit, pandas, Plotly and the app
loaded that is ~140,000 objects: 0.1-0.3 s after each page switch on this 2-CPU machine, the biggest single part
of a switch (bench/browser_pages_bench.py). ``gc.freeze()`` moves the objects alive after start-up (modules,
classes, caches) to a permanent generation that collections skip; what runs create is still collected as before.
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
