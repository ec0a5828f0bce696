# SPDX-License-Identifier: MIT
# ftplib.FTP_TLS against pyftpdlib's TLS server in a thread of the same process (an asyncore-
# style loop on epoll, ssl sockets with timeouts): a listing, a download and an upload over
# protected data channels, then the server is closed from the main thread while its thread
# waits in epoll (Linux lets that wait run to its timeout: it must not fail with EBADF).
# usage: py_ftp_tls.py CERT KEY
import ftplib, io, logging, os, ssl, sys, tempfile, threading
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer

logging.disable(logging.INFO)
root = tempfile.mkdtemp()
with open(os.path.join(root, "down.bin"), "wb") as f:
    f.write(bytes(range(256)) * 1000)
users = DummyAuthorizer()
users.add_user("user", "secret", root, perm="elradfmw")

class Handler(TLS_FTPHandler):
    authorizer = users
    certfile, keyfile = sys.argv[1], sys.argv[2]
    tls_control_required = tls_data_required = True

server = FTPServer(("127.0.0.1", 0), Handler)
failed = []
def serve():
    try:
        server.serve_forever(timeout=0.1)
    except Exception as e:
        failed.append(repr(e))
t = threading.Thread(target=serve)
t.start()
print("THREADS", len(os.listdir("/proc/self/task")), flush=True)

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = ftplib.FTP_TLS(context=ctx, timeout=10)
c.connect("127.0.0.1", server.socket.getsockname()[1])
c.login("user", "secret")
c.prot_p()
print("listing:", c.nlst())
got = io.BytesIO()
c.retrbinary("RETR down.bin", got.write)
print("downloaded:", len(got.getvalue()), got.getvalue() == bytes(range(256)) * 1000)
c.storbinary("STOR up.bin", io.BytesIO(b"u" * 100000))
print("uploaded:", os.path.getsize(os.path.join(root, "up.bin")))
c.quit()
server.close_all()
t.join()
print("server thread ended:", failed or "cleanly")
