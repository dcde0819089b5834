"""The journal's promise under ``kill -9``: a server process (``python -m dns serve``) is
killed at a random moment in the middle of a stream of UPDATEs, many times over; after each
restart every acknowledged update is there, and no update is there in part (each adds two
records, and the serial counts the updates applied)."""

from __future__ import annotations

import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from dns import wire
from tests.dns.test_journal import SERIAL, version
from tests.peers import free_port, stop, wait_until_answering

ROOT = str(Path(__file__).resolve().parents[2])
CYCLES = 8


def update_message(i: int) -> bytes:
    b = wire.MessageBuilder(i & 0xFFFF, wire.OPCODE_UPDATE << wire.OPCODE_SHIFT)
    b.add_question(wire.name_from_text("diff.test."), wire.TYPE_SOA)
    a_name = wire.name_from_text(f"a{i}.diff.test.")
    b_name = wire.name_from_text(f"b{i}.diff.test.")
    b.add_rr(wire.SECTION_AUTHORITY, a_name, wire.TYPE_A, 1, 60, bytes([10, 0, i >> 8, i & 0xFF]))
    b.add_rr(wire.SECTION_AUTHORITY, b_name, wire.TYPE_TXT, 1, 60, b"\x04pair")
    return b.finish()


def ask(sock: socket.socket, port: int, data: bytes) -> wire.Message | None:
    sock.sendto(data, ("127.0.0.1", port))
    try:
        while True:
            reply = wire.Message.parse(sock.recv(65535))
            if reply.id == struct.unpack_from("!H", data)[0]:
                return reply
    except OSError:
        return None


def exists(sock: socket.socket, port: int, name: str, rtype: int) -> bool:
    q = wire.build_query(wire.name_from_text(name), rtype, msg_id=random.getrandbits(16))
    for _ in range(5):
        reply = ask(sock, port, q)
        if reply is not None:
            return bool(reply.answer)
    raise AssertionError(f"no answer for {name}")


def serial(sock: socket.socket, port: int) -> int:
    q = wire.build_query(wire.name_from_text("diff.test."), wire.TYPE_SOA, msg_id=4321)
    reply = ask(sock, port, q)
    assert reply is not None and reply.answer
    rd = reply.answer[0].rdata
    return int(struct.unpack_from("!I", rd, len(rd) - 20)[0])


def test_kill_9_in_the_middle_of_updates_loses_nothing_acknowledged(tmp_path: Path) -> None:
    zone = tmp_path / "diff.test.zone"
    zone.write_text(version(SERIAL))
    log = tmp_path / "server.log"
    rng = random.Random(17)
    acknowledged: set[int] = set()
    sent = 0
    proc: subprocess.Popen[bytes] | None = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2.0)
        try:
            for _cycle in range(CYCLES):
                port = free_port()
                with open(log, "ab") as err:
                    proc = subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "dns",
                            "serve",
                            str(zone),
                            "--port",
                            str(port),
                            "--allow-update",
                            "127.0.0.1/32",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                        cwd=ROOT,
                    )
                wait_until_answering(port, proc, zone="diff.test.", deadline=30, what="dns serve")
                # What survived the last kill: every acknowledged update, whole; the others
                # whole or not at all; the serial counts exactly the updates applied.
                applied = 0
                for i in range(sent):
                    has_a = exists(sock, port, f"a{i}.diff.test.", wire.TYPE_A)
                    has_b = exists(sock, port, f"b{i}.diff.test.", wire.TYPE_TXT)
                    assert has_a == has_b, f"update {i} is there in part"
                    assert has_a or i not in acknowledged, f"acknowledged update {i} was lost"
                    applied += has_a
                assert serial(sock, port) == (SERIAL + applied) & 0xFFFFFFFF
                # A stream of updates, and kill -9 at a random moment in it.
                stop_at = time.monotonic() + rng.uniform(0.05, 0.5)
                killer = threading.Timer(
                    stop_at - time.monotonic(), proc.send_signal, (signal.SIGKILL,)
                )
                killer.start()
                try:
                    while proc.poll() is None and sent < 100_000:
                        i = sent
                        sent += 1
                        reply = ask(sock, port, update_message(i))
                        if reply is not None and reply.rcode == wire.RCODE_NOERROR:
                            acknowledged.add(i)
                        if time.monotonic() > stop_at + 3:
                            break  # the kill came; the process is going
                finally:
                    killer.join()
                proc.wait(10)
                assert proc.returncode == -signal.SIGKILL
            assert len(acknowledged) > CYCLES  # updates were acknowledged between kills
        finally:
            stop(proc)
