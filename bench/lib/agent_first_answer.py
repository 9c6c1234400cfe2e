#!/usr/bin/env python3
"""Times one `criu-agent serve` start: from exec to the agent's first answer over stdin/stdout.

Usage: agent_first_answer.py [--training] COMMAND [ARG...]

Runs COMMAND (a criu-agent serve command line, possibly behind ssh), writes one length-delimited
AgentRequest {id: 1, host_facts: {pids: [1]}} to its stdin, reads AgentEvents from its stdout until the
Result for request 1, closes stdin and waits for the exit. Prints the microseconds from the exec to that
Result. Fails (exit 1) on anything else on stdout: a stray byte there (a JVM warning) corrupts the
protocol, and the run must not time a broken agent. The messages are encoded by hand (agent.proto's
field numbers) so that the benchmark needs no protobuf library.

--training sends what the engine's deployer sends to the run that makes the class-data sharing archive
(migration's AgentDeployer): process_state and host_facts of PID 1, one after the other.
"""
import os
import subprocess
import sys
import time

# agent.proto field numbers
AGENT_REQUEST_ID, HOST_FACTS_PIDS, PID = 1, 1, 1
HOST_FACTS, PROCESS_STATE = 24, 25
AGENT_EVENT_REQUEST_ID, AGENT_EVENT_LOG, AGENT_EVENT_RESULT = 1, 11, 14
VARINT, LENGTH_DELIMITED = 0, 2


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, payload):
    key = varint(number << 3 | wire_type)
    if wire_type == VARINT:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def request(request_id, operation, body):
    message = field(AGENT_REQUEST_ID, VARINT, request_id) + field(operation, LENGTH_DELIMITED, body)
    return varint(len(message)) + message


TIMED = [(HOST_FACTS, field(HOST_FACTS_PIDS, VARINT, 1))]
TRAINING = [(PROCESS_STATE, field(PID, VARINT, 1)), (HOST_FACTS, field(HOST_FACTS_PIDS, VARINT, 1))]


def read_varint(stream):
    shift = value = 0
    while True:
        byte = stream.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise ValueError("not a varint: the agent's stdout is not a stream of AgentEvents")


def fields(message):
    """(number, wire_type, value) of each top-level field; enough for AgentEvent's."""
    position = 0
    while position < len(message):
        key, position = parse_varint(message, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            value, position = parse_varint(message, position)
        elif wire_type == LENGTH_DELIMITED:
            length, position = parse_varint(message, position)
            value, position = message[position:position + length], position + length
        else:
            raise ValueError(f"unexpected wire type {wire_type}: the agent's stdout is not a stream of AgentEvents")
        yield number, wire_type, value


def parse_varint(data, position):
    shift = value = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def await_result(stdout, request_id):
    while True:
        length = read_varint(stdout)
        if length is None:
            raise ValueError("the agent's stdout ended before its answer")
        event = dict((number, value) for number, _, value in fields(stdout.read(length)))
        if event.get(AGENT_EVENT_REQUEST_ID) != request_id:
            raise ValueError(f"an event for another request: {event}")
        if AGENT_EVENT_RESULT in event:
            return
        if AGENT_EVENT_LOG not in event:
            raise ValueError(f"the agent did not answer request {request_id} with a Result: {event}")


def main(argv):
    requests = TIMED
    if argv[:1] == ["--training"]:
        requests, argv = TRAINING, argv[1:]
    if not argv:
        sys.exit(__doc__)
    started = time.monotonic_ns()
    agent = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first_answer = None
    try:
        for request_id, (operation, body) in enumerate(requests, 1):
            agent.stdin.write(request(request_id, operation, body))
            agent.stdin.flush()
            await_result(agent.stdout, request_id)
            first_answer = first_answer or time.monotonic_ns()
    except ValueError as e:
        agent.kill()
        agent.wait()
        sys.exit(f"agent_first_answer: {e}")
    agent.stdin.close()
    if agent.wait(timeout=60) != 0:
        sys.exit(f"agent_first_answer: the agent exited with status {agent.returncode}")
    print((first_answer - started) // 1000)


if __name__ == "__main__":
    main(sys.argv[1:])
