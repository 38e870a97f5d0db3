"""A test double of neural_worker.py: same JSON protocol, misbehaving on request.

The request's "model" picks the behaviour: ok, oom, sigkill (after one batch),
hang, garbage, exit3, short (one score too few), spans (ok, with an error
span per segment), or "log:<file>" (ok, and
append the number of items scored to <file>; "spans-log:<file>" does both). Score of an item:
len(hypothesis) / 10 + len(reference or "") / 100.
"""

import json
import os
import signal
import sys
import time


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main(path):
    with open(path, encoding="utf-8") as f:
        request = json.load(f)
    mode, items = request["model"], request["items"]
    emit({"event": "loaded", "info": {"device": request["device"]}})
    if "log:" in mode:
        with open(mode.split("log:", 1)[1], "a", encoding="utf-8") as f:
            f.write(f"{len(items)}\n")
    if mode == "oom":
        emit({"event": "error", "reason": "out of memory", "detail": "CUDA out of memory"})
        return 1
    if mode == "hang":
        time.sleep(120)
    if mode == "garbage":
        print("Some library printed this to stdout")
        return 0
    if mode == "exit3":
        print("Traceback: something broke", file=sys.stderr)
        return 3
    size = 2
    for start in range(0, len(items), size):
        index = list(range(start, min(start + size, len(items))))
        scores = [len(items[i][1]) / 10 + len(items[i][2] or "") / 100 for i in index]
        if mode == "short":
            scores = scores[:-1]
        detail = [{"error_spans": [{"text": items[i][1][:2], "severity": "minor", "start": 0,
                                    "end": 2, "confidence": 0.5}]} for i in index] \
            if mode.startswith("spans") else None
        emit({"event": "scores", "index": index, "scores": scores, "detail": detail})
        if mode == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
    emit({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
