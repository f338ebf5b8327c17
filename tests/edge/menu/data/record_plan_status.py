"""Records plan_status.json: the local API's status answer from a real `edge demo` with
the planner on (the example site on Octopus Flux, whose peak and night rates give grid
charges and exports), for the Plan tab's snapshot. Run from the repository's root:
    .venv/bin/python tests/edge/menu/data/record_plan_status.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge.config import EXAMPLE_CONFIG
from edge.local_api import ApiClient

OUT = Path(__file__).with_name("plan_status.json")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="edge-record-"))
    site = folder / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, site)
    with site.open("a", encoding="utf-8") as f:
        f.write('\n[planner]\nenabled = true\n\n[tariff]\nkind = "flux"\n')
    sock = folder / "api.sock"
    args = ["--no-mqtt", "--quiet", "--config", str(site), "--minutes", "30", "--speed", "10"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "demo", *args, "--api-socket", str(sock)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = ApiClient(str(sock))
    try:
        deadline = time.monotonic() + 90.0
        while time.monotonic() < deadline:
            try:
                answer = client.request("status")
            except OSError:
                answer = {}
            if answer.get("plan") and answer["state"].get("plan_age_s", 0) >= 30:
                answer["config_path"] = "site.toml"  # not the temporary folder's
                OUT.write_text(json.dumps(answer, indent=1) + "\n", encoding="utf-8")
                print(f"wrote {OUT}")
                return
            time.sleep(0.5)
        raise SystemExit("no plan in 90 s")
    finally:
        client.close()
        proc.terminate()
        proc.communicate(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
