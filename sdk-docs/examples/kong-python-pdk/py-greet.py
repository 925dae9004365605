#!/usr/bin/env python3
import kong_pdk.pdk.kong as kong

Schema = (
    {"greeting": {"type": "string", "default": "hello"}},
)

version = "0.1.0"
priority = 900


class Plugin(object):
    def __init__(self, config):
        self.config = config

    def access(self, kong: kong.kong):
        name, err = kong.request.get_header("x-name")
        if err or not name:
            return kong.response.exit(400, {"message": "who are you?"})
        kong.response.set_header("x-greeting", "%s, %s" % (self.config["greeting"], name))


if __name__ == "__main__":
    from kong_pdk.cli import start_dedicated_server
    start_dedicated_server("py-greet", Plugin, version, priority, Schema)
