"""Test plugin: raises in the configured phase (fault containment tests)."""

PRIORITY = 800
VERSION = "1.0.0"
SCHEMA = [
    {
        "phase": {
            "type": "string",
            "default": "access",
            "one_of": ["rewrite", "access", "response", "header_filter", "body_filter", "log"],
        }
    }
]


class Plugin:
    def _boom(self, conf, phase):
        if conf["phase"] == phase:
            raise RuntimeError(f"crasher exploded in {phase}")

    def rewrite(self, kong, conf):
        self._boom(conf, "rewrite")

    def access(self, kong, conf):
        self._boom(conf, "access")

    def header_filter(self, kong, conf):
        self._boom(conf, "header_filter")

    def body_filter(self, kong, conf):
        self._boom(conf, "body_filter")

    def log(self, kong, conf):
        self._boom(conf, "log")
