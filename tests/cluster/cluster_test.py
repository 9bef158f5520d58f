#!/usr/bin/env python3
"""The cluster test (issue 16): three `allot serve` processes on one PostgreSQL behind HAProxy.

Run by tests/cluster/run (which builds allot, installs HAProxy and aiosmtpd, and calls this
with the venv's Python), itself run by scripts/test's "cluster" stage. It starts, on 127.0.0.1:

  - a throwaway PostgreSQL cluster (initdb; stopped and started again by one check),
  - an SMTP sink (aiosmtpd's Mailbox handler, a maildir),
  - three `allot serve` processes sharing the database, the session key, the SMTP server and
    the test gateway's ledger (ALLOT_TEST_GATEWAY_LEDGER: what the "provider" took, by key),
  - HAProxy, round-robin in front of them, health-checking /readyz,

and checks, through the balancer and against each process directly:

  1. jobs once: with renewals, purges and purchase orders due, the three schedulers start in
     the same second and `allot tick` runs twice beside them; each renewal is charged once
     (charges, bills, the gateway's ledger), each email queued once, each purge and each
     provisioning done once (the audit log agrees);
  2. outbox once: every email of the outbox reaches the SMTP sink exactly once (by Message-ID)
     while the three processes and both ticks deliver;
  3. sessions: a session made on one process works on the others; signing out on one ends it
     on all; blocking a user on one ends their session on the others at once;
  4. API tokens: a token made on one process works on the others; revoked on one, it is refused
     by the others at once;
  5. seats: 200 concurrent assignments (half by the API, half by the Licenses page) spread over
     the three processes onto a pool with 5 free licenses: exactly 5 succeed, the rest are
     refused with a 4xx, and every kept count equals a recount;
  6. rolling restart: SIGTERM one process at a time under load; the balancer sees /readyz go
     down while the process still runs, the process exits, starts again; no request of the load
     gets a 5xx or a broken connection;
  7. readiness: /readyz answers 503 while the database is stopped and 200 once it is back,
     without restarting allot (/livez stays 200).

It ends with a line in cargo's format ("test result: ok. 7 passed; 0 failed; ..."), which
scripts/test counts, and exits non-zero when a check failed.
"""

import argparse
import concurrent.futures
import http.client
import json
import mailbox
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START = time.monotonic()
SECRET = "cluster-test-session-key-0123456789abcdef"
RENEWALS, PURGES, PURCHASE_ORDERS = 40, 5, 3
CONCURRENT, FREE_SEATS = 200, 5
DRAIN_SECONDS = 2


def say(message):
    print(f"[cluster {time.monotonic() - START:5.0f}s] {message}", flush=True)


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def free_port(start):
    port = start
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                port += 1


def wait_for(what, predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise CheckFailed(f"timed out after {timeout} s waiting for {what}")


# ------------------------------------------------------------------ HTTP


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def csrf(self):
        m = re.search(r'name="csrf_token" value="([^"]*)"', self.body)
        expect(m, f"no CSRF token on the page ({self.status})")
        return m.group(1)


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        data = res.read().decode("utf-8", "replace")
        heads = {}
        for k, v in res.getheaders():
            k = k.lower()
            heads[k] = v if k not in heads else heads[k] + "\n" + v
        return Reply(res.status, heads, data)
    finally:
        conn.close()


class Browser:
    """Cookies kept by hand: the same cookie is sent to any of the processes."""

    def __init__(self):
        self.cookies = {}

    def send(self, port, method, path, form=None, json_body=None, headers=None):
        heads = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            heads["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            body = json.dumps(json_body)
            heads["Content-Type"] = "application/json"
        if self.cookies:
            heads["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reply = request(port, method, path, body, heads)
        for line in (reply.header("set-cookie") or "").split("\n"):
            if "=" not in line:
                continue
            name, rest = line.split("=", 1)
            value = rest.split(";", 1)[0]
            gone = value == "" or re.search(r"(?i)max-age=0\b", rest)
            if gone:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return reply

    def get(self, port, path):
        return self.send(port, "GET", path)

    def submit(self, port, form_page, action, fields):
        token = self.get(port, form_page).csrf()
        return self.send(port, "POST", action, form=[("csrf_token", token)] + list(fields))

    def sign_in(self, port, email, password="allot-demo"):
        reply = self.submit(port, "/signin", "/signin", [("email", email), ("password", password)])
        return reply

    def signed_in_on(self, port):
        """True when /licenses shows the page, not the way to the sign-in."""
        reply = self.get(port, "/licenses")
        if reply.status == 200:
            return True
        expect(
            reply.status in (302, 303) and "/signin" in (reply.header("location") or ""),
            f"/licenses on :{port} answered {reply.status} {reply.header('location')}",
        )
        return False


def api(port, method, path, token, body=None):
    heads = {"Authorization": f"Bearer {token}"}
    if body is not None:
        heads["Content-Type"] = "application/json"
        body = json.dumps(body)
    reply = request(port, method, "/api/v1" + path, body, heads)
    return reply


# ------------------------------------------------------------------ the parts


class Cluster:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="allot-cluster."))
        os.chmod(self.work, 0o755)
        self.procs = {}
        self.servers = []  # (name, port)
        self.pg_bin = args.pg_bin
        self.pg_dir = self.work / "pg"
        self.pg_port = free_port(55432)
        self.url = f"postgres://postgres@127.0.0.1:{self.pg_port}/allot_cluster"
        self.smtp_port = free_port(2525)
        self.maildir = self.work / "maildir"
        self.ledger = self.work / "ledger"
        self.balancer = free_port(18380)
        ports = []
        for i in range(3):
            ports.append(free_port(18390 + 10 * i))
        self.servers = [(f"allot{i + 1}", p) for i, p in enumerate(ports)]
        self.server_procs = {}

    # -- PostgreSQL, our own, so that it can be stopped
    def as_postgres(self, cmd, **kw):
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)

    def start_pg(self, first=True):
        if first:
            self.pg_dir.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.pg_dir, "postgres", "postgres")
            os.chmod(self.pg_dir, 0o700)
            self.as_postgres([f"{self.pg_bin}/initdb", "-D", f"{self.pg_dir}/data", "-A", "trust",
                              "-U", "postgres", "-E", "UTF8", "--no-locale"])
        opts = (f"-p {self.pg_port} -k {self.pg_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self.as_postgres([f"{self.pg_bin}/pg_ctl", "-D", f"{self.pg_dir}/data", "-o", opts,
                          "-l", f"{self.pg_dir}/pg.log", "-w", "-t", "60", "start"])
        if first:
            self.psql("CREATE DATABASE allot_cluster", db="postgres")

    def stop_pg(self):
        self.as_postgres([f"{self.pg_bin}/pg_ctl", "-D", f"{self.pg_dir}/data", "-m", "fast",
                          "-w", "stop"])

    def psql(self, sql, db="allot_cluster"):
        url = f"postgres://postgres@127.0.0.1:{self.pg_port}/{db}"
        out = subprocess.run([self.args.psql, url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def value(self, sql):
        return int(self.psql(sql) or 0)

    # -- the environment every allot process shares
    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOT_")}
        env.update({
            "DATABASE_URL": self.url,
            "ALLOT_DATA_DIR": str(self.work / "data"),
            "ALLOT_SECRET_KEY": SECRET,
            "ALLOT_SMTP_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "ALLOT_SMTP_FROM": "allot <no-reply@allot.example>",
            "ALLOT_PUBLIC_URL": f"http://127.0.0.1:{self.balancer}",
            "ALLOT_TEST_GATEWAY_LEDGER": str(self.ledger),
            "ALLOT_DRAIN_SECONDS": str(DRAIN_SECONDS),
            "ALLOT_SHUTDOWN_TIMEOUT_SECONDS": "20",
            "ALLOT_TRUSTED_PROXIES": "127.0.0.1",
            "ALLOT_DB_POOL_SIZE": "16",
            "RUST_LOG": "warn",
        })
        return env

    def spawn(self, name, cmd, env=None):
        log = open(self.work / f"{name}.log", "ab")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def allot(self, *args):
        return subprocess.run([self.args.bin, *args], env=self.env(), check=True,
                              capture_output=True, text=True)

    def start_server(self, name, port):
        proc = self.spawn(name, [self.args.bin, "serve", "--bind", f"127.0.0.1:{port}"],
                          self.env())
        self.server_procs[name] = proc
        return proc

    def ready(self, port):
        try:
            return request(port, "GET", "/readyz", timeout=3).status == 200
        except OSError:
            return False

    def start_smtp(self):
        mailbox.Maildir(str(self.maildir), create=True)
        self.spawn("smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l",
                            f"127.0.0.1:{self.smtp_port}", "-c", "aiosmtpd.handlers.Mailbox",
                            str(self.maildir)])

        def answers():
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1) as s:
                    return s.recv(100).startswith(b"220")
            except OSError:
                return False

        wait_for("the SMTP sink", answers, 20)

    def start_haproxy(self):
        lines = "\n".join(f"  server {n} 127.0.0.1:{p} check" for n, p in self.servers)
        cfg = self.work / "haproxy.cfg"
        # The configuration docs/OPERATIONS.md recommends: health checks on /readyz often enough
        # to see a draining process before it stops taking connections; a request that could
        # not reach its server (refused, or closed before any answer) goes to another one.
        cfg.write_text(f"""global
  maxconn 2000
  stats socket {self.work}/haproxy.sock level admin
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response
  option http-server-close
  option forwardfor
frontend www
  bind 127.0.0.1:{self.balancer}
  default_backend allot
backend allot
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 250ms fall 1 rise 2
{lines}
""")
        subprocess.run([self.args.haproxy, "-c", "-q", "-f", str(cfg)], check=True)
        self.spawn("haproxy", [self.args.haproxy, "-db", "-f", str(cfg)])
        wait_for("HAProxy to see three servers up",
                 lambda: all(s == "UP" for s in self.balancer_states().values()), 30)

    def balancer_states(self):
        """Each server's state as HAProxy sees it ("UP", "DOWN", ...)."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(self.work / "haproxy.sock"))
                s.sendall(b"show stat\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        rows = data.decode().splitlines()
        if not rows:
            return {}
        head = rows[0].lstrip("# ").split(",")
        states = {}
        for row in rows[1:]:
            cells = dict(zip(head, row.split(",")))
            if cells.get("pxname") == "allot" and cells.get("svname", "").startswith("allot"):
                states[cells["svname"]] = cells.get("status", "").split(" ")[0]
        return states

    def stop(self):
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait()
        try:
            self.stop_pg()
        except Exception:
            pass


# ------------------------------------------------------------------ the checks


def load(c):
    say("a throwaway PostgreSQL, the schema, the demo and the due work")
    c.start_pg()
    # A fleet upgraded at once: the processes migrate one after the other, under a lock.
    migrations = [subprocess.Popen([c.args.bin, "migrate"], env=c.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    for m in migrations:
        out, _ = m.communicate(timeout=120)
        expect(m.returncode == 0, f"allot migrate beside two others failed: {out}")
    due_at = (datetime.now(timezone.utc) - timedelta(minutes=1)).replace(microsecond=0)
    out = subprocess.run(
        c.args.loader + ["--users", "900", "--products", "3", "--assignments-per-user", "1",
                         "--renewals-due", str(RENEWALS), "--renewals-due-at",
                         due_at.isoformat().replace("+00:00", "Z"),
                         "--purges-due", str(PURGES), "--purchase-orders-due",
                         str(PURCHASE_ORDERS)],
        env={**c.env(), "DATABASE_URL": c.url}, cwd=ROOT, check=True, capture_output=True,
        text=True).stdout
    c.renewal_product = int(re.search(r"RENEWAL_PRODUCT_1=(\d+)", out).group(1))
    c.contoso = c.value("SELECT id FROM tenants WHERE name = 'Contoso'")
    c.po_invoices_before = c.value(
        "SELECT count(*) FROM agreement_invoices WHERE kind = 'purchase_order'")
    expect(c.value(f"SELECT count(*) FROM subscriptions WHERE product_id = {c.renewal_product}")
           == RENEWALS, "the loader's renewals")


def start_everything(c):
    c.start_smtp()
    say("three servers and two `allot tick`s, all at once")
    for name, port in c.servers:
        c.start_server(name, port)
    ticks = [subprocess.Popen([c.args.bin, "tick"], env=c.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for name, port in c.servers:
        wait_for(f"{name} to be ready", lambda p=port: c.ready(p), 60)
    c.tick_outputs = []
    for t in ticks:
        out, _ = t.communicate(timeout=300)
        expect(t.returncode == 0, f"allot tick failed: {out}")
        c.tick_outputs.append(out)
    c.start_haproxy()


def jobs_once(c):
    p = c.renewal_product

    def done():
        renewed = c.value(f"""SELECT count(*) FROM subscriptions
            WHERE product_id = {p} AND term_end > now() AT TIME ZONE 'UTC' + interval '20 days'""")
        purged = c.value("SELECT count(*) FROM users WHERE purged_at IS NOT NULL")
        orders = c.value("SELECT count(*) FROM agreement_orders WHERE state = 'pending'")
        return renewed == RENEWALS and purged == PURGES and orders == 0

    wait_for("the renewals, purges and provisionings", done, 120, 1)
    # Every scheduler ran its first minute at once: one took the job lock, the others found it
    # taken (or came after and found nothing due).
    runs = []
    for name, port in c.servers:
        text = request(port, "GET", "/metrics").body
        counts = {}
        for metric in ("allot_job_runs_total", "allot_job_runs_skipped_total"):
            m = re.search(rf"^{metric}(?:{{[^}}]*}})? (\d+)", text, re.M)
            counts[metric] = int(m.group(1)) if m else 0
        runs.append(counts)
    expect(all(sum(r.values()) >= 1 for r in runs), f"a scheduler did not run: {runs}")
    say("  schedulers: " + ", ".join(
        f"{n} ran {r['allot_job_runs_total']}, skipped {r['allot_job_runs_skipped_total']}"
        for (n, _), r in zip(c.servers, runs)))
    ran = sum("Ran the scheduled jobs" in out for out in c.tick_outputs)
    say(f"  the ticks: {ran} of 2 ran the jobs (a tick that did not found the lock taken)")
    twice = c.value(f"""SELECT count(*) FROM (SELECT subscription_id FROM charges
        WHERE product_id = {p} AND purpose = 'renewal' GROUP BY subscription_id
        HAVING count(*) <> 1) AS off""")
    expect(twice == 0, f"{twice} subscriptions do not have exactly one renewal charge")
    settled = c.value(f"""SELECT count(*) FROM charges
        WHERE product_id = {p} AND purpose = 'renewal' AND state = 'settled'""")
    expect(settled == RENEWALS, f"{settled} settled renewal charges for {RENEWALS} renewals")
    bills = c.value(f"""SELECT count(*) FROM (SELECT s.id FROM subscriptions s
        LEFT JOIN bill_lines l ON l.subscription_id = s.id
        LEFT JOIN bills b ON b.id = l.bill_id AND b.kind = 'renewal' AND b.state = 'paid'
        WHERE s.product_id = {p} GROUP BY s.id HAVING count(b.id) <> 1) AS off""")
    expect(bills == 0, f"{bills} subscriptions do not have exactly one paid renewal bill")
    # The provider's side: it took each renewal's key once, and only keys allot recorded.
    keys = set(c.psql(f"SELECT idempotency_key FROM charges WHERE product_id = {p}").split())
    taken = [f.name for f in c.ledger.iterdir() if not f.name.startswith(".")]
    renewal_keys = [k for k in taken if k in keys]
    expect(len(renewal_keys) == RENEWALS,
           f"the gateway took {len(renewal_keys)} renewal charges for {RENEWALS}")
    known = set(c.psql("SELECT idempotency_key FROM charges").split())
    unknown = [k for k in taken if k not in known]
    expect(not unknown, f"the gateway took charges allot has no record of: {unknown[:3]}")
    # Each renewal's email, once per Billing and Global admin.
    per_admin = c.psql("""SELECT to_email || ' ' || count(*) FROM outbox
        WHERE subject = 'Contoso: Your Bench Renewals 1 subscription renewed'
        GROUP BY to_email ORDER BY to_email""").splitlines()
    expect(per_admin and all(line.endswith(f" {RENEWALS}") for line in per_admin),
           f"renewal emails per admin: {per_admin}")
    audit = {
        "Renewed subscription": RENEWALS,
        "Purged deleted user": PURGES,
        "Provisioned a purchase order": PURCHASE_ORDERS,
    }
    for action, n in audit.items():
        target = " AND target = 'Bench Renewals 1'" if action == "Renewed subscription" else ""
        kept = c.value(f"SELECT count(*) FROM audit_log WHERE action = '{action}'{target}"
                       + (" AND at > now() AT TIME ZONE 'UTC' - interval '1 hour'"
                          if action == "Provisioned a purchase order" else ""))
        expect(kept == n, f"audit log: {kept} '{action}' entries for {n}")
    invoices = c.value("SELECT count(*) FROM agreement_invoices WHERE kind = 'purchase_order'")
    expect(invoices - c.po_invoices_before == PURCHASE_ORDERS,
           f"{invoices - c.po_invoices_before} purchase order invoices for {PURCHASE_ORDERS}")
    return (f"{RENEWALS} renewals charged once, {PURGES} purges, {PURCHASE_ORDERS} purchase "
            f"orders, {len(per_admin)} × {RENEWALS} renewal emails")


def outbox_once(c):
    wait_for("the outbox to be empty",
             lambda: c.value("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0, 150, 1)
    time.sleep(1)
    ids = {}
    for key, message in mailbox.Maildir(str(c.maildir), create=False).items():
        mid = message.get("Message-ID", "")
        m = re.match(r"<allot\.(\d+)\.\d+@", mid)
        expect(m, f"a message without allot's Message-ID: {mid!r}")
        ids[int(m.group(1))] = ids.get(int(m.group(1)), 0) + 1
    sent = {int(i) for i in c.psql("SELECT id FROM outbox").split()}
    twice = sorted(i for i, n in ids.items() if n > 1)
    expect(not twice, f"emails sent twice: outbox ids {twice[:10]}")
    missing = sorted(sent - set(ids))
    expect(not missing, f"emails marked sent that the sink never got: {missing[:10]}")
    extra = sorted(set(ids) - sent)
    expect(not extra, f"the sink got emails the outbox doesn't hold: {extra[:10]}")
    return f"{len(sent)} emails, each received once"


def sessions(c):
    ports = [p for _, p in c.servers]
    admin = Browser()
    reply = admin.sign_in(c.balancer, "admin@contoso.example")
    expect(reply.status == 303, f"sign-in through the balancer: {reply.status}")
    for port in ports:
        expect(admin.signed_in_on(port), f"the session made through the balancer on :{port}")
    # Signing out on the second process ends the session on all, even for a client that
    # keeps sending the cookie the sign-out told it to forget.
    kept = dict(admin.cookies)
    reply = admin.submit(ports[1], "/licenses", "/signout", [])
    expect(reply.status in (302, 303), f"sign-out: {reply.status}")
    admin.cookies = kept
    for port in ports + [c.balancer]:
        expect(not admin.signed_in_on(port), f"signed out on :{ports[1]}, still in on :{port}")
    # Blocking a signed-in user on one process: the others send them to sign in at once.
    licenses = Browser()
    expect(licenses.sign_in(ports[0], "licenses@contoso.example").status == 303, "sign-in")
    expect(licenses.signed_in_on(ports[2]), "the License admin's session on the third process")
    other = Browser()
    expect(other.sign_in(ports[2], "admin@contoso.example").status == 303, "sign-in again")
    user = c.value("SELECT id FROM users WHERE email = 'licenses@contoso.example'")
    reply = other.submit(ports[1], f"/users/{user}", f"/users/{user}/block", [("blocked", "yes")])
    expect(reply.status == 303, f"block: {reply.status}")
    for port in ports:
        expect(not licenses.signed_in_on(port), f"blocked, still signed in on :{port}")
    expect(Browser().sign_in(ports[2], "licenses@contoso.example").status != 303,
           "a blocked user signed in")
    c.admin = other
    return "a session works on every process; sign-out and block end it on all at once"


def make_token(c, browser, port, name, scopes):
    form = browser.get(port, "/settings/api-access/new").csrf()
    fields = [("csrf_token", form), ("name", name), ("expires", "30")]
    fields += [("scopes", s) for s in scopes]
    reply = browser.send(port, "POST", "/settings/api-access", form=fields)
    m = re.search(r"allot_[0-9a-f]{64}", reply.body)
    expect(m, f"no token shown after creating one: {reply.status}")
    return m.group(0)


def api_tokens(c):
    ports = [p for _, p in c.servers]
    token = make_token(c, c.admin, ports[0], "Cluster revoke", ["licenses.read"])
    for port in ports:
        reply = api(port, "GET", "/subscribedSkus", token)
        expect(reply.status == 200, f"the new token on :{port}: {reply.status}")
    page = c.admin.get(ports[2], "/settings/api-access")
    m = re.search(r'action="(/settings/api-access/\d+/revoke)"[^<]*<input[^>]*>\s*'
                  r'<button[^>]*aria-label="Revoke Cluster revoke"', page.body)
    expect(m, "no Revoke button for the token")
    reply = c.admin.send(ports[2], "POST", m.group(1), form=[("csrf_token", page.csrf())])
    expect(reply.status in (302, 303), f"revoke: {reply.status}")
    for port in ports:
        reply = api(port, "GET", "/subscribedSkus", token)
        expect(reply.status == 401, f"the revoked token on :{port}: {reply.status}")
    return "made on one process, it works on all; revoked on another, refused by all at once"


def seats(c):
    ports = [p for _, p in c.servers]
    token = make_token(c, c.admin, ports[0], "Cluster seats",
                       ["licenses.read", "licenses.write", "users.read"])
    skus = json.loads(api(ports[0], "GET", "/subscribedSkus", token).body)["value"]
    # A bench product: each bench user holds one of the three, so two thirds lack it.
    sku = next(s for s in skus if s["skuPartNumber"] == "BENCH_01")
    product = c.value("SELECT id FROM products WHERE code = 'BENCH_01'")
    free = sku["prepaidUnits"]["enabled"] - sku["consumedUnits"]
    candidates = c.psql(f"""SELECT id || ' ' || email FROM users u
        WHERE tenant_id = {c.contoso} AND email LIKE 'bench%' AND state = 'active'
        AND NOT EXISTS (SELECT 1 FROM license_assignments a
                        WHERE a.user_id = u.id AND a.product_id = {product})
        ORDER BY id LIMIT {CONCURRENT + max(free - FREE_SEATS, 0)}""").splitlines()
    candidates = [line.split(" ") for line in candidates]
    expect(free >= FREE_SEATS, f"{sku['skuPartNumber']} has {free} free licenses, fewer than "
                               f"{FREE_SEATS}")
    expect(len(candidates) == CONCURRENT + free - FREE_SEATS,
           f"{len(candidates)} users lack {sku['skuPartNumber']}")
    if free > FREE_SEATS:
        # One bulk assignment leaves exactly FREE_SEATS.
        fill = candidates[CONCURRENT:]
        page = f"/licenses/{product}/assign"
        reply = c.admin.submit(ports[0], f"/licenses/{product}", page,
                               [("users", i) for i, _ in fill] + [("confirm", "yes")])
        expect(reply.status == 303, f"filling the pool: {reply.status}")
    contenders = candidates[:CONCURRENT]
    token_csrf = c.admin.get(ports[0], f"/licenses/{product}").csrf()
    barrier = threading.Barrier(CONCURRENT)

    def attempt(i):
        user, email = contenders[i]
        port = ports[i % 3]
        barrier.wait()
        if i % 2 == 0:
            reply = api(port, "POST", f"/users/{email}/assignLicense", token,
                        {"addLicenses": [{"skuId": sku["skuId"]}], "removeLicenses": []})
            return "API", reply.status, reply.status == 200
        reply = c.admin.send(port, "POST", f"/licenses/{product}/assign",
                             form=[("csrf_token", token_csrf), ("users", user),
                                   ("confirm", "yes")])
        return "page", reply.status, reply.status == 303

    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
        outcomes = list(pool.map(attempt, range(CONCURRENT)))
    statuses = {}
    for door, status, _ in outcomes:
        statuses[f"{door} {status}"] = statuses.get(f"{door} {status}", 0) + 1
    won = sum(ok for _, _, ok in outcomes)
    expect(all(ok or 400 <= s < 500 for _, s, ok in outcomes), f"statuses: {statuses}")
    holders = c.value(f"""SELECT count(*) FROM license_assignments
        WHERE product_id = {product} AND user_id IN ({",".join(u for u, _ in contenders)})""")
    expect(won == FREE_SEATS and holders == FREE_SEATS,
           f"{won} assignments answered as done and {holders} made, for {FREE_SEATS} free "
           f"licenses ({statuses})")
    after = [s for s in json.loads(api(ports[1], "GET", "/subscribedSkus", token).body)["value"]
             if s["skuId"] == sku["skuId"]][0]
    expect(after["consumedUnits"] == after["prepaidUnits"]["enabled"],
           f"{sku['skuPartNumber']}: {after['consumedUnits']} of "
           f"{after['prepaidUnits']['enabled']} assigned")
    recount = """SELECT tenant_id, product_id, COALESCE(self_service_subscription_id, 0) AS pool,
        count(*) AS n FROM license_assignments
        GROUP BY tenant_id, product_id, COALESCE(self_service_subscription_id, 0)"""
    drift = c.psql(f"""SELECT c.tenant_id, c.product_id, c.pool, c.assigned, COALESCE(r.n, 0)
        FROM license_counts c LEFT JOIN ({recount}) r
          ON r.tenant_id = c.tenant_id AND r.product_id = c.product_id AND r.pool = c.pool
        WHERE c.assigned <> COALESCE(r.n, 0)
        UNION ALL
        SELECT r.tenant_id, r.product_id, r.pool, NULL, r.n
        FROM ({recount}) r LEFT JOIN license_counts c
          ON r.tenant_id = c.tenant_id AND r.product_id = c.product_id AND r.pool = c.pool
        WHERE c.tenant_id IS NULL""")
    expect(not drift, f"kept counts differ from a recount: {drift}")
    return f"{won} of {CONCURRENT} succeeded ({statuses}); kept counts equal a recount"


def rolling_restart(c):
    token_page = "/licenses"
    admin = Browser()
    expect(admin.sign_in(c.balancer, "admin@contoso.example").status == 303, "sign-in")
    stop = threading.Event()
    lock = threading.Lock()
    seen = {"requests": 0, "bad": []}

    def load():
        while not stop.is_set():
            for path in (token_page, "/users", "/billing/products"):
                try:
                    reply = admin.get(c.balancer, path)
                    ok = reply.status == 200
                    what = f"{path}: {reply.status}"
                except OSError as e:
                    ok, what = False, f"{path}: {e!r}"
                with lock:
                    seen["requests"] += 1
                    if not ok:
                        seen["bad"].append(what)

    workers = [threading.Thread(target=load) for _ in range(6)]
    for w in workers:
        w.start()
    notes = []
    try:
        time.sleep(1)
        for name, port in c.servers:
            proc = c.server_procs[name]
            proc.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            # It drains: /readyz says so, and the balancer takes it out, while it still runs.
            def draining(p=port):
                reply = request(p, "GET", "/readyz", timeout=3)
                return reply.status == 503 and "draining" in reply.body

            wait_for(f"{name}'s /readyz to say it is draining", draining, DRAIN_SECONDS, 0.02)
            wait_for(f"HAProxy to take {name} out",
                     lambda n=name: c.balancer_states().get(n) not in ("UP", None), 10, 0.05)
            expect(proc.poll() is None, f"{name} stopped before the balancer took it out")
            out_at = time.monotonic() - t0
            proc.wait(timeout=DRAIN_SECONDS + 30)
            gone_at = time.monotonic() - t0
            expect(proc.returncode == 0, f"{name} exited with {proc.returncode}")
            c.start_server(name, port)
            wait_for(f"{name} to be ready again", lambda p=port: c.ready(p), 60)
            wait_for(f"HAProxy to take {name} back",
                     lambda n=name: c.balancer_states().get(n) == "UP", 20, 0.1)
            notes.append(f"{name} out after {out_at:.2f} s, exited after {gone_at:.2f} s")
        time.sleep(1)
    finally:
        stop.set()
        for w in workers:
            w.join()
    say("  " + "; ".join(notes))
    expect(seen["requests"] > 100, f"only {seen['requests']} requests of load")
    expect(not seen["bad"], f"{len(seen['bad'])} of {seen['requests']} requests failed: "
                            f"{seen['bad'][:5]}")
    return f"{seen['requests']} requests, none failed, while each process restarted in turn"


def readiness(c):
    name, port = c.servers[0]
    pid = c.server_procs[name].pid
    c.stop_pg()
    try:
        wait_for("/readyz to answer 503 with the database stopped",
                 lambda: request(port, "GET", "/readyz", timeout=10).status == 503, 30, 0.5)
        live = request(port, "GET", "/livez", timeout=5).status
        expect(live == 200, f"/livez with the database stopped: {live}")
    finally:
        c.start_pg(first=False)
    wait_for("/readyz to answer 200 with the database back", lambda: c.ready(port), 60, 0.5)
    expect(c.server_procs[name].pid == pid and c.server_procs[name].poll() is None,
           "allot was restarted")
    return "503 while the database was stopped, 200 again once it was back, same process"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--loader", required=True, help="the command that runs load_tenant")
    parser.add_argument("--pg-bin", required=True, help="the directory of initdb and pg_ctl")
    parser.add_argument("--psql", required=True)
    parser.add_argument("--haproxy", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    args.loader = args.loader.split()
    # Stopped from outside (a timeout, Ctrl-C): still stop what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    c = Cluster(args)
    passed, failed = 0, 0
    try:
        load(c)
        start_everything(c)
        for check in (jobs_once, outbox_once, sessions, api_tokens, seats, rolling_restart,
                      readiness):
            t0 = time.monotonic()
            try:
                said = check(c)
                passed += 1
                say(f"ok: {check.__name__}: {said} ({time.monotonic() - t0:.1f} s)")
            except CheckFailed as e:
                failed += 1
                say(f"FAILED: {check.__name__}: {e}")
    except (CheckFailed, subprocess.CalledProcessError, OSError, KeyboardInterrupt) as e:
        failed += 1
        detail = getattr(e, "stderr", "") or ""
        say(f"FAILED: setting up the cluster: {e} {detail[-2000:]}")
    finally:
        c.stop()
        if failed:
            for log in sorted(c.work.glob("allot*.log")):
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print(f"--- {log.name}, last lines:\n" + "\n".join(tail))
        if args.keep or os.environ.get("ALLOT_CLUSTER_KEEP") == "1":
            print(f"cluster_test: kept {c.work}")
        else:
            shutil.rmtree(c.work, ignore_errors=True)
    print(f"test result: {'ok' if failed == 0 else 'FAILED'}. {passed} passed; {failed} failed; "
          f"0 ignored; 0 measured; 0 filtered out; finished in {time.monotonic() - START:.0f}s")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
