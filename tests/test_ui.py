"""The real Dagster webserver, started as the README says, explains every asset."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

QUERY = """
{ assetNodes {
    assetKey { path } description groupName kinds
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    hasAssetChecks
    metadataEntries { label }
} }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture
def webserver(home):
    port = free_port()
    pipeline = Path(sys.executable).with_name("pipeline")
    process = subprocess.Popen([str(pipeline), "ui", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                nodes = graphql(port, QUERY)["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError):
                pass
            if process.poll() is not None or time.time() > deadline:
                raise AssertionError(f"webserver did not come up: {process.stderr.read().decode()[-2000:]}")
            time.sleep(1)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            # every process the UI started (webserver, daemon, code server) is gone
            os.killpg(process.pid, signal.SIGKILL) if _group_alive(process.pid) else None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_ui_lists_every_asset_with_description_group_kinds_and_owner(webserver):
    from pipeline.definitions import defs

    nodes = graphql(webserver, QUERY)["data"]["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    expected = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(by_key) == expected
    for key, node in by_key.items():
        assert node["description"] and len(node["description"]) > 20, key
        assert node["groupName"] == key.split("/")[0], key
        assert node["kinds"], key
        assert {"team": "sales-ops"} in node["owners"], key
    assert "raw/opportunity" in by_key and "publish/warehouse" in by_key
    assert "Required object" in by_key["raw/opportunity"]["description"]
