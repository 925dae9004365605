"""kong.router: matched route and service."""

from __future__ import annotations

from pdk import router
from pdk.phases import Phase


def test_route_and_service(use):
    route, service = {"id": "r1", "name": "orders"}, {"id": "s1", "host": "orders.internal"}
    use(route=route, service=service, phase=Phase.log)
    assert router.get_route() is route
    assert router.get_service() is service
    use()
    assert router.get_route() is None and router.get_service() is None
