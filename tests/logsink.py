"""A file-like sink for ``edgegate.gateway.log.Log`` that keeps the JSON records a test can read back."""

import json


class LogSink:
    def __init__(self):
        self.lines = []

    def write(self, s):
        self.lines.append(s)

    def flush(self):
        pass

    def records(self):
        return [json.loads(x) for x in "".join(self.lines).splitlines() if x.startswith("{")]
