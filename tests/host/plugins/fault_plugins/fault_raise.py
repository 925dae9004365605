"""Test plugin: raises in the phase its config names (every handler is a plain function)."""

PRIORITY = 820
VERSION = "1.0.0"
SCHEMA = [
    {
        "phase": {
            "type": "string",
            "default": "access",
            "one_of": ["rewrite", "access", "header_filter", "body_filter", "log"],
        }
    }
]
CALLS: list[str] = []


def _maybe_fail(conf, phase):
    CALLS.append(phase)
    if conf["phase"] == phase:
        raise RuntimeError(f"SECRET-DETAIL of fault-raise in {phase}")


def rewrite(kong, conf):
    _maybe_fail(conf, "rewrite")


def access(kong, conf):
    _maybe_fail(conf, "access")


def header_filter(kong, conf):
    _maybe_fail(conf, "header_filter")


def body_filter(kong, conf):
    _maybe_fail(conf, "body_filter")


def log(kong, conf):
    _maybe_fail(conf, "log")
