"""gunicorn's gthread worker with a cap on the client connections each worker takes.

A benchmark holds a few keep-alive connections for its whole run. Plain gthread lets
whichever worker wakes first accept them all (8 and 0 is common on a busy machine), and a
worker whose threads share one GIL then serves all the load on one core: the figure would
measure the accept lottery, not the app. With the cap (BENCH_ACCEPT_LIMIT, set by
bench/run.py to connections / workers) a full worker stops accepting and the kernel's
backlog hands the next connection to another worker, so the split is even every time.
Nothing else changes: same threads, same keep-alive, same request handling.
"""

import os

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # gthread stops accepting while nr_conns >= worker_connections; keep-alive is judged
        # by max_keepalived, computed from gunicorn's own setting above and left alone.
        if not hasattr(self, "nr_conns"):
            raise RuntimeError("gunicorn's gthread worker changed: bench/gunicorn_worker.py needs a look")
        self.worker_connections = int(os.environ["BENCH_ACCEPT_LIMIT"])
