"""Running the gateway as processes: one worker, or a supervisor and N workers.

* :mod:`host.workers.control`: what ``moongate start`` and ``moongate reload`` share: the
  worker count (``nginx_worker_processes``), durations in nginx's syntax, the pid file and
  the prefix directories of a multi-worker run (kept free of heavy imports: it runs before
  ``PROMETHEUS_MULTIPROC_DIR`` is set).
* :mod:`host.workers.serve`: one worker's life on its event loop: signals (SIGHUP reloads,
  SIGTERM drains), the ``--watch`` file watcher, publishing its status.
* :mod:`host.workers.supervisor`: ``--workers N``: forks the workers, restarts a dead one,
  forwards SIGHUP, drains them on SIGTERM.
* :mod:`host.workers.status`: ``GET /status`` (Kong's fields), aggregated over the workers.

The submodules are imported by name; this package imports none of them.
"""

__all__ = ["control", "serve", "status", "supervisor"]
