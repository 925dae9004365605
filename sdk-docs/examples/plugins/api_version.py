"""api-version: choose the API version of each request and tell the client which one it got.

The version comes from a request header, else a query argument, else the
configured default; a leading "v" is ignored.  An unknown version ends the
request with 400.  The upstream always receives the version in the header (the
query argument is removed); the client gets it back in the same header, plus
``Deprecation: true`` when the version is deprecated.
"""

from host.schema import typedefs

PRIORITY = 900
VERSION = "1.0.0"


def _default_is_offered(config):
    if config["default_version"] in config["versions"]:
        return True
    return False, f"default_version '{config['default_version']}' is not one of the versions"


SCHEMA = {
    "fields": [
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "header": typedefs.header_name(
                            default="X-API-Version",
                            required=True,
                            description="Request header naming the version; echoed on the response.",
                        )
                    },
                    {
                        "query_arg": {
                            "type": "string",
                            "default": "api-version",
                            "required": True,
                            "description": "Query argument read when the header is absent.",
                        }
                    },
                    {
                        "versions": {
                            "type": "array",
                            "elements": {"type": "string", "match": "^%d+$"},
                            "default": ["1"],
                            "required": True,
                            "len_min": 1,
                            "description": 'The versions offered, e.g. ["1", "2"].',
                        }
                    },
                    {
                        "default_version": {
                            "type": "string",
                            "default": "1",
                            "required": True,
                            "description": "Used when the request names no version.",
                        }
                    },
                    {
                        "deprecated": {
                            "type": "set",
                            "elements": {"type": "string"},
                            "default": [],
                            "description": "Versions answered with Deprecation: true.",
                        }
                    },
                ],
                "entity_checks": [
                    {
                        "custom_entity_check": {
                            "field_sources": ["default_version", "versions"],
                            "fn": _default_is_offered,
                        }
                    }
                ],
            }
        }
    ]
}


class Plugin:
    def access(self, kong, conf):
        header, arg = conf["header"], conf["query_arg"]
        requested = kong.request.get_header(header) or kong.request.get_query_arg(arg)
        version = requested.removeprefix("v") if isinstance(requested, str) else conf["default_version"]
        if version not in conf["versions"]:
            kong.response.exit(
                400, {"message": f"unsupported API version: {requested}", "versions": conf["versions"]}
            )
        kong.ctx.plugin["version"] = version  # read again in header_filter
        kong.service.request.set_header(header, version)
        kong.service.request.clear_query_arg(arg)

    def header_filter(self, kong, conf):
        version = kong.ctx.plugin.get("version")
        if version is None:  # access did not run to the end (this or another plugin exited)
            return
        kong.response.set_header(conf["header"], version)
        if version in conf["deprecated"]:
            kong.response.set_header("Deprecation", "true")
