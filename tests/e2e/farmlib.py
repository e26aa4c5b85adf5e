"""Helpers for the end-to-end tests: a private-namespace check, and a farm started in the
background and stopped by PID. Every address used is on 127.0.0.0/8."""
import csv
import gzip
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def require_private_netns():
    """Refuse to run on a network with any interface but loopback (scripts/test.sh makes one)."""
    with open("/proc/self/net/dev") as f:
        names = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    if names != ["lo"]:
        print("not in a private network namespace (interfaces: %s); run via scripts/test.sh"
              % names, file=sys.stderr)
        sys.exit(1)


def read_csv_gz(path):
    with gzip.open(path, "rt", newline="") as f:
        return list(csv.DictReader(f))


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (tests run in parallel; the farm's
    SO_REUSEPORT would otherwise let two farms share one port)."""
    import socket
    while True:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()


class Farm:
    """mxtls-farm serve in the background; use as a context manager."""

    def __init__(self, domains, seed=1, epoch=0, dns_port=None, smtp_port=None, extra=(),
                 capture_stderr=False, policy=False):
        """POLICY: the truth has the columns of a scan with --policy and the farm's DNS as
        --dnssec-resolver (scan_args() gives them); the policy hosts are served either way."""
        dns_port = dns_port or free_port()
        smtp_port = smtp_port or free_port()
        self.sts_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mxtls-farm-")
        self.truth = os.path.join(self.dir, "truth.csv.gz")
        self.ca = os.path.join(self.dir, "ca.pem")
        self.ready = os.path.join(self.dir, "ready")
        self.dns = "127.0.0.1:%d" % dns_port
        self.dns_port = dns_port
        self.smtp_port = smtp_port
        self.args = [os.environ["MXTLS_FARM"], "serve", "--domains", str(domains),
                     "--seed", str(seed), "--epoch", str(epoch), "--dns", self.dns,
                     "--smtp-port", str(smtp_port), "--truth", self.truth,
                     "--ca-out", self.ca, "--ready-file", self.ready,
                     "--sts-port", str(self.sts_port)] + list(extra)
        if policy:
            self.args += ["--truth-policy", "yes"]
        self.policy = policy
        self.proc = None
        self.capture = capture_stderr
        self.stderr = ""

    def policy_args(self):
        """What a scan needs to see the farm's policies as its truth has them."""
        return ["--policy", "--dnssec-resolver", self.dns, "--sts-port", str(self.sts_port)]

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stderr=subprocess.PIPE if self.capture else None,
                                     text=True)
        deadline = time.time() + 120
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("farm did not start: %s" % self.args)
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                _, err = self.proc.communicate(timeout=20)
                self.stderr = err or ""
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.call(["rm", "-rf", self.dir])
        return False


class Checker:
    """Counts checks and failures; prints each failure with both values."""

    def __init__(self, name):
        self.name, self.checks, self.failures = name, 0, 0

    def eq(self, what, want, got):
        self.checks += 1
        if want != got:
            self.failures += 1
            if self.failures <= 30:
                print(("FAIL %s: want %r got %r" % (what, want, got))[:2000])

    def true(self, what, cond):
        self.eq(what, True, bool(cond))

    def finish(self):
        print("%s: %d checks, %d failures" % (self.name, self.checks, self.failures))
        sys.exit(1 if self.failures or not self.checks else 0)


def write_list(farm, n, seed, path):
    """The farm's domain list (N domains of SEED) written to PATH."""
    with open(path, "w") as f:
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(n), "--seed", str(seed)],
                       stdout=f, check=True)


def scan(farm, lst, out, *extra, allow=("127.0.0.0/8",), timeout=600, wait=True, resolver=None):
    """mxtls scan of LST into OUT against FARM, loopback only; extra options appended (a later
    option wins), RESOLVER instead of the farm's DNS. With wait=False, returns the running
    Popen.

    The farm serves SMTP from one loop per process: with thousands of handshakes ready at once,
    one turn of it takes seconds on two busy cores, and a greeting can then miss a short read
    timeout. Tests compare with the truth, so they keep concurrency to what the farm serves
    promptly and the read timeout generous. The DNS timeout is short: the farm's domains whose
    DNS never answers would otherwise hold each scan's tail for tens of seconds (lookups that
    time out are asked again while the resolver answers others, so a slow moment is not a
    timeout)."""
    args = [os.environ["MXTLS_BIN"], "scan", lst, "-o", out, "--resolver", resolver or farm.dns,
            "--port", str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
            "--timeout-read", "15", "--deadline", "40", "--concurrency", "500", "--quiet",
            "--dns-timeout", "1", "--dns-tries", "2"]
    for a in allow:
        args += ["--allow", a]
    args += list(extra)
    if not wait:
        return subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def truth_columns(farm):
    """The columns the farm's truth determines (its header)."""
    return list(read_csv_gz(farm.truth)[0].keys())


def rows_by_domain(path, cols):
    """{domain: [row as a list of COLS values, ...]} of a scan or truth file."""
    out = {}
    for row in read_csv_gz(path):
        out.setdefault(row["domain"], []).append([row[k] for k in cols])
    return out


RELAY = r"""
import socket, struct, sys
# One socket each way; queries get IDs of the relay's own, mapped back to the client's.
down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
down.bind(("127.0.0.1", int(sys.argv[1])))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.connect(("127.0.0.1", int(sys.argv[2])))
# A scan sends its queries in bursts; on busy cores this relay is off the CPU for tens of ms, and
# a default receive buffer (a few hundred datagrams) would drop what a real resolver queues.
# FORCE passes net.core.rmem_max; the namespace's root may (CAP_NET_ADMIN there).
for s in (down, up):
    try:
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 16 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
pending, next_id = {}, 0
print("ready", flush=True)
import selectors
sel = selectors.DefaultSelector()
sel.register(down, selectors.EVENT_READ)
sel.register(up, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is down:
            data, addr = down.recvfrom(65535)
            if len(data) < 12:
                continue
            next_id = (next_id + 1) & 0xFFFF
            pending[next_id] = (addr, data[:2])
            up.send(struct.pack("!H", next_id) + data[2:])
        else:
            try:
                data = up.recv(65535)
            except OSError:
                continue
            addr, orig = pending.pop(struct.unpack("!H", data[:2])[0], (None, None))
            if addr:
                down.sendto(orig + data[2:], addr)
"""


class DnsRelay:
    """A UDP relay in front of a farm's DNS, in a process of its own, so that a test can freeze
    the resolver (SIGSTOP) and thaw it (SIGCONT) without stopping the farm's SMTP servers."""

    def __init__(self, farm):
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(["python3", "-c", RELAY, str(self.port), str(farm.dns_port)],
                                     stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def drain(self, limit=60):
        """Waits until the relay answers a fresh query: the queries a frozen relay holds are
        then forwarded, and the burst of their answers, which a thawed relay drops in part as
        it overflows its socket, is over. A real resolver back from an outage is not a relay
        with a backlog; a scan started before this is measuring the relay."""
        q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\x05drain\x07example\x00" + \
            struct.pack("!HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1)
            end = time.monotonic() + limit
            while time.monotonic() < end:
                s.sendto(q, ("127.0.0.1", self.port))
                try:
                    if s.recv(4096)[:2] == q[:2]:
                        return
                except socket.timeout:
                    pass
        raise RuntimeError("the DNS relay gave no answer in %d s" % limit)

    def close(self):
        self.thaw()
        self.proc.kill()
        self.proc.wait()


def wait_dns(port, name, rtype="A"):
    """dig's answer for NAME once the server on 127.0.0.1:PORT gives NOERROR (at most 10 s),
    else ""."""
    for _ in range(100):
        r = subprocess.run(["dig", "+tries=1", "+time=1", "-p", str(port), "@127.0.0.1", name,
                            rtype], capture_output=True, text=True).stdout
        if "NOERROR" in r:
            return r
        time.sleep(0.1)
    return ""


def start_nsd(tmp, port, zone):
    """Debian's nsd serving ZONE from TMP/zone on 127.0.0.1:PORT, in the foreground (stop it by
    its Popen), with every file it keeps inside TMP."""
    conf = os.path.join(tmp, "nsd.conf")
    with open(conf, "w") as f:
        f.write("""server:
    ip-address: 127.0.0.1
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{tmp}"
    pidfile: "{tmp}/nsd.pid"
    database: ""
    zonelistfile: "{tmp}/zone.list"
    xfrdfile: "{tmp}/xfrd.state"
    xfrdir: "{tmp}"
    logfile: "{tmp}/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: {z}
    zonefile: "{tmp}/zone"
""".format(port=port, tmp=tmp, z=zone))
    return subprocess.Popen(["nsd", "-d", "-c", conf])

