"""A misbehaving stand-in for ``inkpaint worker`` (protocol-correct until it is not), for crash/cancel tests.

STUB_MODE: ``crash`` (dies with exit code 9 in the middle of a run), ``no_ready`` (exits before saying ready),
``slow`` (a run reports progress every 20 ms for 10 s; answers cancel with a ``cancelled`` event).
STUB_PROTOCOL: the protocol version its ``ready`` event claims (default 1).
"""

import json
import os
import sys
import threading
import time

mode = os.environ.get("STUB_MODE", "crash")
out = sys.stdout


def send(**msg):
    out.write(json.dumps(msg) + "\n")
    out.flush()


if mode == "no_ready":
    print("ImportError: No module named 'OpenImageIO' (stub)", file=sys.stderr)
    sys.exit(1)

send(event="ready", version="stub", protocol=int(os.environ.get("STUB_PROTOCOL", "1")), pid=os.getpid())
cancelled = threading.Event()
running = {}


def run(rid):
    for i in range(500):
        if cancelled.is_set():
            send(event="cancelled", id=rid, message="cancelled by the user; complete frames were kept")
            return
        send(event="progress", id=rid, stage="roto", done=i, total=500, frame=i + 1, fps=0.0, message="")
        time.sleep(0.02)
    send(event="result", id=rid, result={"type": "roto", "summary": {}})


for line in sys.stdin:
    req = json.loads(line)
    if req.get("type") == "shutdown":
        send(event="bye", id=req.get("id"))
        break
    if req.get("type") == "cancel":
        cancelled.set()
        send(event="cancelling", id=None, target=req.get("target"))
        continue
    rid = req.get("id")
    send(event="accepted", id=rid, type=req.get("type"))
    if mode == "crash":
        send(event="progress", id=rid, stage="roto", done=1, total=4, frame=1, fps=0.0, message="")
        print("Segmentation fault (stub)", file=sys.stderr)
        sys.stderr.flush()
        os._exit(9)
    threading.Thread(target=run, args=(rid,), daemon=True).start()
