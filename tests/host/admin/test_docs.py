"""The examples of sdk-docs/admin-api.md, run against a real gateway."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOC = Path(__file__).parents[3] / "sdk-docs" / "admin-api.md"


def _examples() -> list[tuple[str, str, object, int]]:
    text = DOC.read_text(encoding="utf-8")
    steps = []
    for block in re.findall(r"```admin-example\n(.*?)```", text, re.S):
        lines = [line for line in block.splitlines() if line.strip()]
        for request, expected in zip(lines[::2], lines[1::2], strict=True):
            method, _, rest = request.partition(" ")
            path, _, body = rest.partition(" ")
            steps.append((method, path, json.loads(body) if body else None, int(expected.split()[-1])))
    return steps


async def test_admin_api_doc_examples(make_admin, http) -> None:
    steps = _examples()
    assert len(steps) >= 10
    gw = await make_admin()
    for method, path, body, status in steps:
        resp = await http.request(method, gw.admin + path, json=body)
        assert resp.status == status, (method, path, await resp.text())
