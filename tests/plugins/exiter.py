"""Test plugin: ends the request with kong.response.exit when X-Exit is sent."""

PRIORITY = 1500
VERSION = "1.0.0"
SCHEMA = [
    {"status": {"type": "integer", "default": 403, "between": [100, 599]}},
    {"message": {"type": "string", "default": "stopped by exiter"}},
    {"phase": {"type": "string", "default": "access", "one_of": ["rewrite", "access", "header_filter"]}},
]


class Plugin:
    def _maybe_exit(self, kong, conf, phase):
        if conf["phase"] == phase and kong.request.get_header("X-Exit"):
            kong.response.exit(conf["status"], {"message": conf["message"]}, {"X-Exited-By": "exiter"})
            raise AssertionError("exit must not return")

    def rewrite(self, kong, conf):
        self._maybe_exit(kong, conf, "rewrite")

    def access(self, kong, conf):
        self._maybe_exit(kong, conf, "access")

    def header_filter(self, kong, conf):
        self._maybe_exit(kong, conf, "header_filter")
