"""The DNS stage against a hand-built hostile responder: answers with the wrong ID, to another
question, too short to be DNS, with a compression loop, with garbage after a valid header, and
well-formed ones for comparison. Each ends as a recorded status, none crashes or hangs."""
import csv
import io
import os
import random
import socket
import struct
import subprocess
import tempfile
import threading

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("dns vs hostile responder")


def qname_wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


def parse_query(q):
    pos, labels = 12, []
    while q[pos]:
        labels.append(q[pos + 1:pos + 1 + q[pos]].decode())
        pos += 1 + q[pos]
    qtype = struct.unpack(">H", q[pos + 1:pos + 3])[0]
    return ".".join(labels).lower(), qtype, q[12:pos + 5]


def answer(q):
    name, qtype, question = parse_query(q)
    qid = q[:2]
    label = next((l.split("-")[0] for l in name.split(".") if "-" in l), "")
    head = lambda an, rcode=0: qid + struct.pack(">HHHHH", 0x8400 | rcode, 1, an, 0, 0)
    if label == "wrongid":
        return struct.pack(">H", (struct.unpack(">H", qid)[0] + 1) & 0xFFFF) + head(0)[2:] + question
    if label == "wrongq":
        return head(0) + qname_wire("other.test") + question[-4:]
    if label == "short":
        return qid + b"\x84\x00\x00"
    if label == "loop":
        # An MX record whose exchange name is a pointer to itself.
        rr_at = 12 + len(question)
        rdata = b"\x00\x0a" + struct.pack(">H", 0xC000 | (rr_at + 12 + 2))
        return head(1) + question + b"\xc0\x0c" + struct.pack(">HHIH", 15, 1, 60, len(rdata)) + rdata
    if label == "junk":
        rnd = random.Random(name)
        return head(5) + question + bytes(rnd.randrange(256) for _ in range(80))
    if label == "ok":
        if qtype == 15:
            rdata = b"\x00\x0a" + qname_wire("mx." + name)
            return head(1) + question + b"\xc0\x0c" + struct.pack(">HHIH", 15, 1, 60, len(rdata)) + rdata
        if qtype == 1:
            return head(1) + question + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([127, 0, 9, 1])
        return head(0) + question
    return head(0, 3) + question


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
stop = False


def serve():
    sock.settimeout(0.2)
    while not stop:
        try:
            q, addr = sock.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            sock.sendto(answer(q), addr)
        except Exception as e:  # the responder must outlive its own bugs
            print("responder: %r" % e)


t = threading.Thread(target=serve, daemon=True)
t.start()
expect = {}
for kind, status in [("wrongid", "timeout"), ("wrongq", "timeout"), ("short", "timeout"),
                     ("loop", "servfail"), ("junk", "servfail"), ("ok", "mx")]:
    for i in range(3):
        expect["%s-%d.test" % (kind, i)] = status
lst = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
lst.write("".join(d + "\n" for d in expect))
lst.close()
out = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--resolver", "127.0.0.1:%d" % port,
                      "--allow", "127.0.0.0/8", "--dns-timeout", "0.3", "--dns-tries", "1",
                      lst.name], capture_output=True, text=True, timeout=60)
stop = True
t.join()
os.unlink(lst.name)
print(out.stderr.strip())
c.eq("resolve exit status", 0, out.returncode)
rows = {r["domain"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
for d, status in expect.items():
    c.eq("%s dns_status" % d, status, rows.get(d, {}).get("dns_status"))
for i in range(3):
    c.eq("ok-%d.test address" % i, "127.0.9.1", rows.get("ok-%d.test" % i, {}).get("ip"))

# A resolver that answers nothing: the stage says so and fails, instead of recording a list's
# worth of timeouts as data.
dead = farmlib.free_port()
lst = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
lst.write("".join("d%d.test\n" % i for i in range(40)))
lst.close()
out = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--resolver", "127.0.0.1:%d" % dead,
                      "--allow", "127.0.0.0/8", "--dns-timeout", "0.2", "--dns-tries", "1",
                      lst.name], capture_output=True, text=True, timeout=60)
os.unlink(lst.name)
c.eq("silent resolver: exit status", 2, out.returncode)
c.true("silent resolver: says so (%s)" % out.stderr.strip().splitlines()[-1],
       "answered nothing" in out.stderr)
out = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--resolver", "resolver.example",
                      "--allow", "127.1.0.0/16", "/dev/null"], capture_output=True, text=True)
c.eq("a resolver that is not an address: refused before any packet", 1, out.returncode)
c.true("and says why", "not an address" in out.stderr)
c.finish()
