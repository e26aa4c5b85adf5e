"""Real mail servers for the end-to-end tests: Postfix from Debian's package, started from a
test-owned configuration on a loopback address with STARTTLS and a test certificate, and
stopped by PID."""
import os
import pwd
import re
import shutil
import signal
import subprocess
import time


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def certificate(dir, name, owner):
    """A self-signed RSA certificate for NAME in DIR, its key readable by OWNER only."""
    key, cert = os.path.join(dir, "key.pem"), os.path.join(dir, "cert.pem")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
        "-addext", "subjectAltName=DNS:" + name, "-days", "2", "-keyout", key, "-out", cert,
        check=True)
    pw = pwd.getpwnam(owner)
    os.chown(key, pw.pw_uid, pw.pw_gid)
    os.chmod(key, 0o600)
    return cert, key


def wait_pid(path, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            pid = int(open(path).read().split()[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError, IndexError):
            time.sleep(0.1)
    raise RuntimeError("no server process behind %s" % path)


def stop(pid):
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
            time.sleep(0.1)
        except OSError:
            return
    os.kill(pid, signal.SIGKILL)


class Postfix:
    """Postfix listening on IP:PORT as NAME, everything it keeps under TMP/postfix; .pid, .cert,
    .key; renew() gives it a new key and certificate and reloads it."""

    def __init__(self, tmp, ip, port, name):
        d = os.path.join(tmp, "postfix")
        self.conf = os.path.join(d, "conf")
        self.name = name
        os.makedirs(self.conf)
        os.makedirs(os.path.join(d, "queue"))
        os.makedirs(os.path.join(d, "data"))
        shutil.chown(os.path.join(d, "data"), "postfix")
        self.cert, self.key = certificate(self.conf, name, "root")
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write("""compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = {name}
mydestination =
maillog_file_prefixes = {d}
maillog_file = {d}/maillog
smtpd_banner = $myhostname ESMTP Postfix
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
tls_preempt_cipherlist = yes
""".format(d=d, cert=self.cert, key=self.key, name=name))
        master = open("/usr/share/postfix/master.cf.dist").read()
        master = re.sub(r"^smtp\s+inet\s+n\s+-\s+y\s+-\s+-\s+smtpd$",
                        "%s:%d inet n - n - - smtpd" % (ip, port), master, flags=re.M)
        master = re.sub(r"^(\S+\s+unix\s+\S+\s+\S+\s+)y", r"\1n", master, flags=re.M)  # no chroot
        open(os.path.join(self.conf, "master.cf"), "w").write(master)
        run("postfix", "-c", self.conf, "set-permissions")
        r = run("postfix", "-c", self.conf, "start")
        if r.returncode:
            raise RuntimeError("postfix start: %s%s" % (r.stdout, r.stderr))
        self.pid = wait_pid(os.path.join(d, "queue", "pid", "master.pid"))

    def renew(self):
        """A new key and certificate for the same name, as a renewal makes: smtpd processes
        started from now on present them."""
        certificate(self.conf, self.name, "root")
        r = run("postfix", "-c", self.conf, "reload")
        if r.returncode:
            raise RuntimeError("postfix reload: %s%s" % (r.stdout, r.stderr))

    def stop(self):
        stop(self.pid)
