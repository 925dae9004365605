"""Test plugin: implements every phase and records the order it saw them in."""

PRIORITY = 100000
VERSION = "1.0.0"
SCHEMA = [{"label": {"type": "string", "default": "tracer"}}]

#: request id -> phases seen (read by the tests)
SEEN: dict[str, list[str]] = {}
WORKER: list[str] = []


class Plugin:
    def init_worker(self, kong):
        WORKER.append("init_worker")

    def configure(self, kong, configs):
        WORKER.append(f"configure:{len(configs or [])}")

    def _mark(self, kong, phase):
        rid = kong.request.get_header("X-Test-Id") or "-"
        SEEN.setdefault(rid, []).append(phase)

    def rewrite(self, kong, conf):
        self._mark(kong, "rewrite")
        kong.ctx.shared["order"] = ["tracer"]

    def access(self, kong, conf):
        self._mark(kong, "access")
        kong.service.request.set_header("X-Tracer", conf["label"])
        kong.service.request.set_header("X-Prefix-Seen", kong.request.get_forwarded_prefix() or "none")

    def header_filter(self, kong, conf):
        self._mark(kong, "header_filter")
        kong.response.set_header(
            "X-Tracer-Phases", ",".join(SEEN.get(kong.request.get_header("X-Test-Id") or "-", []))
        )
        kong.response.set_header("X-Order", ",".join(kong.ctx.shared.get("order", [])))

    def body_filter(self, kong, conf):
        if kong.ctx.plugin.get("counted") is None:
            kong.ctx.plugin["counted"] = True
            self._mark(kong, "body_filter")

    def log(self, kong, conf):
        self._mark(kong, "log")
