"""response-digest: send the SHA-256 of the upstream body as a response header.

A header that depends on the whole body must be set before any byte is sent, so
this plugin implements ``response``: the gateway buffers the upstream response.
"""

import hashlib

from host.schema import typedefs

PRIORITY = 800
VERSION = "1.0.0"
SCHEMA = [{"header": typedefs.header_name(default="X-Body-SHA256", required=True)}]


def response(kong, conf):
    body = kong.service.response.get_raw_body()
    kong.response.set_header(conf["header"], hashlib.sha256(body).hexdigest())
