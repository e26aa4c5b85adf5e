"""The probe against hostile and broken servers, each played from a transcript in
tests/data/transcripts (fragmented and byte-at-a-time replies, bare LF, endless lines and
replies, an HTTP or TLS-on-connect server, early close, EHLO refused, STARTTLS refused, bytes
injected after STARTTLS, a tarpit): every one ends with the recorded outcome and error token
the transcript expects, within the timeouts, and the probe never crashes."""
import asyncio
import codecs
import csv
import io
import os
import ssl
import subprocess
import sys
import tempfile
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("probe vs hostile servers")
here = os.path.join(os.environ["MXTLS_SRC"], "tests", "data", "transcripts")
tmp = tempfile.mkdtemp(prefix="mxtls-hostile-")
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=hostile.example", "-days",
                "2", "-keyout", key, "-out", cert], check=True, capture_output=True)
tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls_ctx.load_cert_chain(cert, key)


def unescape(text):
    return codecs.decode(text, "unicode_escape").encode("latin-1")


def load(path):
    expect, actions = {}, []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        verb, _, rest = line.partition(" ")
        if verb == "expect":
            for item in rest.split():
                col, _, val = item.partition("=")
                expect[col] = val
        else:
            actions.append((verb, rest))
    return expect, actions


async def play(actions, reader, writer):
    async def do(verb, rest):
        if verb == "send":
            writer.write(unescape(rest))
            await writer.drain()
        elif verb == "drip":
            for b in unescape(rest):
                writer.write(bytes([b]))
                await writer.drain()
                await asyncio.sleep(0.005)
        elif verb == "slowdrip":
            delay, _, text = rest.partition(" ")
            for b in unescape(text):
                writer.write(bytes([b]))
                await writer.drain()
                await asyncio.sleep(float(delay))
        elif verb == "wait":
            while True:
                line = await reader.readline()
                if not line or line.upper().startswith(rest.encode()):
                    return bool(line)
        elif verb == "sleep":
            await asyncio.sleep(float(rest))
        elif verb == "repeat":
            n, _, inner = rest.partition(" ")
            v, _, r = inner.partition(" ")
            for _ in range(int(n)):
                await do(v, r)
        elif verb == "close":
            writer.close()
        elif verb == "starttls":
            await writer.start_tls(tls_ctx)
        elif verb == "pause":
            # Leave what the client sends next (its ClientHello) in the socket for TLS.
            writer.transport.pause_reading()
        return True

    try:
        for verb, rest in actions:
            if await do(verb, rest) is False:
                break
    except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    # A transcript that takes the scanner's descriptors away ("redial") is the unit test's only:
    # a real server cannot do that to the probe.
    names = sorted(f for f in os.listdir(here)
                   if f.endswith(".txt") and "\nredial " not in open(os.path.join(here, f)).read())
    port = farmlib.free_port()
    servers, targets, expects, conns = [], [], {}, {}
    for i, name in enumerate(names):
        expect, actions = load(os.path.join(here, name))
        ip = "127.0.1.%d" % (i + 1)
        conns[ip] = 0

        def accept(r, w, a=actions, ip=ip):
            conns[ip] += 1
            return play(a, r, w)
        servers.append(await asyncio.start_server(accept, ip, port))
        targets.append("hostile.example@" + ip)
        expects[ip] = (name, expect)
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        os.environ["MXTLS_BIN"], "probe", "--allow", "127.0.1.0/24", "--port", str(port),
        "--ehlo", "scanner.example", "--ca-file", cert, "--timeout-read", "2", "--deadline",
        "10", *targets, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    elapsed = time.monotonic() - t0
    for s in servers:
        s.close()
    c.eq("probe exit status", 0, proc.returncode)
    c.true("all probes ended within the timeouts (%.1f s)" % elapsed, elapsed < 12)
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8", "replace"))))
    c.eq("one row per transcript", len(names), len(rows))
    for row in rows:
        name, expect = expects[row["ip"]]
        for col, val in expect.items():
            got = str(conns[row["ip"]]) if col == "connections" else row[col]
            c.eq("%s %s" % (name, col), val, got)
        print("%-26s conn=%s stage=%s error=%s tls=%s t_total_ms=%s" % (
            name, row["conn"], row["stage"], row["error"], row["tls"], row["t_total_ms"]))


asyncio.run(main())
subprocess.call(["rm", "-rf", tmp])
c.finish()
