"""tenant-plan: a Python plugin choosing the plan of the tenant a Lua plugin found.

The Lua plugin ``tenant`` (PRIORITY 1000) leaves a Lua table in kong.ctx.shared;
this plugin runs after it, reads that table as a mapping, refuses blocked
tenants and leaves the plan, a string, for tenant's header_filter.
"""

PRIORITY = 900
VERSION = "1.0.0"
SCHEMA = [
    {
        "plans": {
            "type": "map",
            "keys": {"type": "string"},
            "values": {"type": "string"},
            "default": {},
            "description": "Tenant name -> plan; other tenants get 'free'.",
        }
    },
    {"blocked": {"type": "set", "elements": {"type": "string"}, "default": [], "description": "Refused."}},
]


def access(kong, conf):
    tenant = kong.ctx.shared.get("tenant")
    if tenant is None:  # tenant is not enabled here
        return
    name = tenant["name"]
    if name in conf["blocked"]:
        kong.response.exit(403, {"message": f"tenant {name} is blocked"})
    plan = conf["plans"].get(name, "free")
    if tenant["source"] == "default":
        plan += " (default tenant)"
    kong.ctx.shared["tenant_plan"] = plan
