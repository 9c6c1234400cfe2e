#!/usr/bin/env python3
"""A stateful workload for migration tests, demos and benchmarks.

It fills MEMORY bytes with pseudo-random data once, then every INTERVAL seconds appends a line
`tick=N checksum=HEX pid=P` to its log (stdout): the counter proves it goes on from where it was, the
checksum (over all of its memory) proves its memory came across intact. With --marker every MiB of its memory starts with that text. With --port it also serves
its state over TCP on 127.0.0.1 (in its own network namespace) and with --children it forks that many
children that tick too, to make a tree.
"""
import argparse
import hashlib
import os
import random
import socket
import sys
import threading
import time


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B").rstrip("I")
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "")
    return int(float(number) * units[unit])


WORDS = ("request session user order item price status queue worker cache index record value "
         "header payload token account region timeout retry buffer stream offset").split()


def fill(size, seed, kind="random"):
    # random.randbytes is fast and deterministic for a seed; chunks keep peak memory near `size`.
    # "text" is words and numbers, as much of a real heap is: it compresses (random bytes do not).
    rng = random.Random(seed)
    memory = bytearray(size)
    chunk = 1 << 24
    if kind == "text":
        block = " ".join("%s=%d" % (rng.choice(WORDS), rng.randrange(100000)) for _ in range(1 << 17)).encode()
        block = (block * (chunk // len(block) + 1))[:chunk]
    for offset in range(0, size, chunk):
        n = min(chunk, size - offset)
        memory[offset:offset + n] = block[:n] if kind == "text" else rng.randbytes(n)
    return memory


def serve(port, state):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(8)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.sendall(f"tick={state['tick']} checksum={state['checksum']}\n".encode())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memory", default="16M", help="bytes of random memory to hold (16M, 1G)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between ticks")
    parser.add_argument("--port", type=int, default=0, help="serve the state on 127.0.0.1:PORT")
    parser.add_argument("--children", type=int, default=0, help="children to fork (a process tree)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fill", choices=["random", "text"], default="random",
                        help="random bytes (compress to nothing) or text (words and numbers, as a heap holds)")
    parser.add_argument("--marker", default="", help="text written at the start of every MiB of the memory "
                        "(tests look for it on the wire)")
    args = parser.parse_args()

    memory = fill(parse_size(args.memory), args.seed, args.fill)
    marker = args.marker.encode()
    for offset in range(0, len(memory) - len(marker), 1 << 20) if marker else ():
        memory[offset:offset + len(marker)] = marker
    state = {"tick": 0, "checksum": hashlib.sha256(memory).hexdigest()[:16]}
    for _ in range(args.children):
        if os.fork() == 0:
            break  # children tick too, each with the same memory (copy-on-write)
    if args.port and os.getpid() == 1:
        threading.Thread(target=serve, args=(args.port, state), daemon=True).start()
    while True:
        state["checksum"] = hashlib.sha256(memory).hexdigest()[:16]
        print(f"tick={state['tick']} checksum={state['checksum']} pid={os.getpid()}", flush=True)
        state["tick"] += 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
