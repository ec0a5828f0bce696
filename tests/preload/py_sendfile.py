# SPDX-License-Identifier: MIT
# socket.sendfile between two threads of one process, unmodified: os.sendfile on a blocking
# socket, 16 MiB (far more than the socket's buffer), a reader thread in the same process
# hashing what comes; then the same over TCP loopback with an offset and a count. Under the
# shim without a green sendfile the sender blocks the one OS thread and nothing moves.
import hashlib, os, socket, tempfile, threading

def os_threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])

data = hashlib.sha256(b"seed").digest() * (16 << 20 >> 5)

def reader(sock, out):
    h = hashlib.sha256()
    n = 0
    while chunk := sock.recv(65536):
        h.update(chunk)
        n += len(chunk)
    out.append((n, h.hexdigest()))

def run(name, a, b, f, offset=0, count=None):
    out = []
    t = threading.Thread(target=reader, args=(b, out))
    t.start()
    if name == "socketpair":
        print("THREADS", os_threads(), flush=True)
    sent = a.sendfile(f, offset, count)
    a.close()
    t.join()
    b.close()
    want = data[offset:offset + count] if count else data[offset:]
    n, digest = out[0]
    print(f"{name}: sent {sent}, reader got {n}, "
          f"digest {'ok' if digest == hashlib.sha256(want).hexdigest() else 'WRONG'}, "
          f"file at {f.tell()}", flush=True)

with tempfile.TemporaryFile() as f:
    f.write(data)
    f.flush()
    f.seek(0)
    run("socketpair", *socket.socketpair(), f)
    with socket.create_server(("127.0.0.1", 0)) as srv:
        a = socket.create_connection(srv.getsockname())
        b, _ = srv.accept()
        run("tcp", a, b, f, offset=1000, count=10 << 20)
