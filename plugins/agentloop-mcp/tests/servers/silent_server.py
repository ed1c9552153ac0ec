"""A process that reads stdin and never answers: a server that never completes the handshake."""

import sys

print("silent server: started, will never answer", file=sys.stderr, flush=True)
for _line in sys.stdin:
    pass
