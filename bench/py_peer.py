#!/usr/bin/env python3
"""The Python peer of the `ipc` benchmark: case (a) with socket.send_fds.

Both ends are Python: the client sends 64 B + 1 fd with socket.send_fds over
a SOCK_STREAM socketpair; a forked child receives with socket.recv_fds
(MSG_CMSG_CLOEXEC), closes the fd and echoes 1 byte. For each line N read
on stdin, it does N round trips and prints the nanoseconds they took.
"""
import os
import socket
import sys
import time

PAYLOAD = b"\x5a" * 64


def echo(sock):
    while True:
        data, fds, flags, _ = socket.recv_fds(sock, 64, 1, socket.MSG_CMSG_CLOEXEC)
        if not data:
            return
        assert len(data) == 64 and len(fds) == 1 and not flags & socket.MSG_CTRUNC
        os.close(fds[0])
        sock.sendall(b"\x01")


def main():
    fd = os.eventfd(0, os.EFD_CLOEXEC)
    client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        client.close()
        echo(server)
        os._exit(0)
    server.close()
    for line in sys.stdin:
        n = int(line)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            socket.send_fds(client, [PAYLOAD], [fd])
            assert client.recv(1) == b"\x01"
        print(time.perf_counter_ns() - t0, flush=True)
    client.close()
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
