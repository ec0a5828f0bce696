# SPDX-License-Identifier: MIT
"""A slow DNS responder on UDP 127.0.0.1:PORT (argument; 0 picks one, printed as "PORT n"):
every A question for n<i>.test is answered after DELAY seconds (second argument, default
0.5) with 127.0.<i / 250>.<i % 250 + 1>; other questions get NXDOMAIN at once. Each answer
waits on a timer of its own, so questions are answered concurrently. Runs until killed."""
import socket
import struct
import sys
import threading


def parse(query):
    """The question's labels, its type and where the question section ends."""
    labels, i = [], 12
    while query[i]:
        n = query[i]
        labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += n + 1
    qtype = struct.unpack(">H", query[i + 1:i + 3])[0]
    return labels, qtype, i + 5


def answer(query):
    labels, qtype, end = parse(query)
    ident = query[:2]
    name = ".".join(labels).lower()
    index = None
    if len(labels) == 2 and labels[1].lower() == "test" and labels[0][:1] == "n" and labels[0][1:].isdigit():
        index = int(labels[0][1:])
    if index is None:
        flags, ancount, rcode = 0x8180 | 3, 0, None  # NXDOMAIN
        return ident + struct.pack(">HHHHH", flags, 1, 0, 0, 0) + query[12:end], False
    if qtype != 1:  # known name, no record of that type
        return ident + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + query[12:end], True
    addr = bytes([127, 0, index // 250, index % 250 + 1])
    record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + addr
    return ident + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + query[12:end] + record, True


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    print("PORT", sock.getsockname()[1], flush=True)
    while True:
        query, peer = sock.recvfrom(512)
        try:
            reply, slow = answer(query)
        except (IndexError, struct.error):
            continue
        if slow:
            threading.Timer(delay, sock.sendto, (reply, peer)).start()
        else:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
