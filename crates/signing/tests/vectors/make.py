#!/usr/bin/env python3
"""Make the passkey vectors of crates/signing/src/passkey_vectors_tests.rs.

Debian's headless Chromium, driven over the DevTools protocol (--remote-debugging-pipe),
creates a passkey on a virtual platform authenticator (CTAP2, internal, user verified)
for relying party `localhost`, then signs baton's decision message with it: the page's
challenge is the SSHSIG signed data, as OpenSSH expects. This script builds the SSHSIG
itself (independently of the Rust code under test) and keeps only signatures that
`ssh-keygen -Y verify -n baton` accepts (`Good "baton" signature for alice`), with the refusals it is
expected to make. Run it from anywhere: it rewrites the files beside it.

    python3 crates/signing/tests/vectors/make.py
"""
import base64, hashlib, http.server, json, os, struct, subprocess, sys, tempfile, threading

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
MESSAGE = ('baton decision v1\nrun: 01JDX5Q0RUNVECTOR0000000000\nstep: deploy\ngate: 7\n'
           'digest: 4f2b8a\ndecision: approve\nreason: "looks right"\n')
FLIPPED = MESSAGE.replace("decision: approve", "decision: reject")


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def mpint(b):
    b = b.lstrip(b"\0")
    if b and b[0] & 0x80:
        b = b"\0" + b
    return string(b)


def signed_data(namespace, message):
    return (b"SSHSIG" + string(namespace) + string(b"") + string("sha512")
            + string(hashlib.sha512(message.encode()).digest()))


def der_rs(der):
    assert der[0] == 0x30
    i = 2
    out = []
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out.append(der[i + 2:i + 2 + n])
        i += 2 + n
    return out


def key_blob(point, rp):
    return string("sk-ecdsa-sha2-nistp256@openssh.com") + string("nistp256") + string(point) + string(rp)


def sshsig(point, rp, namespace, auth, client_data, der):
    r, s = der_rs(der)
    origin = json.loads(client_data)["origin"]
    sig = (string("webauthn-sk-ecdsa-sha2-nistp256@openssh.com") + string(mpint(r) + mpint(s))
           + bytes([auth[32]]) + auth[33:37] + string(origin) + string(client_data) + string(auth[37:]))
    blob = (b"SSHSIG" + struct.pack(">I", 1) + string(key_blob(point, rp)) + string(namespace)
            + string(b"") + string("sha512") + string(sig))
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i:i + 70] for i in range(0, len(b64), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


class Browser:
    def __init__(self, profile):
        our_in, their_out = os.pipe()
        their_in, our_out = os.pipe()

        def fds():
            # Out of the way first: either end may already be fd 3 or 4.
            a, b = os.dup(their_in), os.dup(their_out)
            os.dup2(a, 3, inheritable=True)
            os.dup2(b, 4, inheritable=True)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(their_in)
        os.close(their_out)
        self.r = os.fdopen(our_in, "rb")
        self.w = os.fdopen(our_out, "wb")
        self.next = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})
        self.session = self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]

    def call(self, method, params, session=None):
        self.next += 1
        msg = {"id": self.next, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.w.write(json.dumps(msg).encode() + b"\0")
        self.w.flush()
        buf = b""
        while True:
            c = self.r.read(1)
            if not c:
                sys.exit("chromium closed its pipe")
            if c != b"\0":
                buf += c
                continue
            v = json.loads(buf)
            buf = b""
            if v.get("id") == self.next:
                if "error" in v:
                    sys.exit(f"{method}: {v['error']}")
                return v["result"]

    def page(self, method, params):
        return self.call(method, params, self.session)

    def eval(self, expr):
        r = self.page("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in r:
            sys.exit(f"{expr}: {r['exceptionDetails']}")
        return r["result"]["value"]

    def open(self, url):
        self.page("Page.enable", {})
        self.page("Page.navigate", {"url": url})
        for _ in range(200):
            if self.eval("document.readyState === 'complete' && location.href") == url:
                return
        sys.exit(f"{url} did not load")


class Blank(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>vectors</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve():
    s = http.server.HTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s.server_address[1]


HEX = "(b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('')"


def create(b):
    return b.eval(f"""(async () => {{ const hex = {HEX};
      const c = await navigator.credentials.create({{ publicKey: {{
        rp: {{ id: 'localhost', name: 'baton' }},
        user: {{ id: new Uint8Array([1, 2, 3, 4]), name: 'alice', displayName: 'alice' }},
        challenge: new Uint8Array(32), pubKeyCredParams: [{{ type: 'public-key', alg: -7 }}],
        authenticatorSelection: {{ residentKey: 'required', userVerification: 'required' }} }} }});
      return {{ spki: hex(c.response.getPublicKey()), auth: hex(c.response.getAuthenticatorData()),
               id: hex(c.rawId) }}; }})()""")


def get(b, challenge, uv):
    js_challenge = "new Uint8Array([" + ",".join(str(x) for x in challenge) + "])"
    r = b.eval(f"""(async () => {{ const hex = {HEX};
      const a = await navigator.credentials.get({{ publicKey: {{ rpId: 'localhost',
        challenge: {js_challenge}, userVerification: '{uv}' }} }});
      return {{ auth: hex(a.response.authenticatorData), cd: hex(a.response.clientDataJSON),
               sig: hex(a.response.signature) }}; }})()""")
    return bytes.fromhex(r["auth"]), bytes.fromhex(r["cd"]), bytes.fromhex(r["sig"])


def verify(d, signers, pem, message, principal="alice", namespace="baton"):
    sig = os.path.join(d, "check.sig")
    open(sig, "w").write(pem)
    p = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", signers, "-I", principal, "-n", namespace,
                        "-s", sig], input=message.encode(), capture_output=True)
    if os.environ.get("DEBUG"): print(p.stdout, p.stderr)
    return p.returncode == 0 and p.stdout.startswith(b"Good \"" + namespace.encode() + b"\" signature for " + principal.encode())


def main():
    with tempfile.TemporaryDirectory() as d:
        port, other = serve(), serve()
        b = Browser(os.path.join(d, "profile"))
        b.page("WebAuthn.enable", {"enableUI": False})
        auth_id = b.page("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True}})["authenticatorId"]
        origin = f"http://localhost:{port}"
        b.open(origin + "/")
        made = create(b)
        spki = bytes.fromhex(made["spki"])
        point = spki[-65:]
        assert spki[-66] == 0 and point[0] == 4, "an uncompressed P-256 point ends the SPKI"
        pub = "sk-ecdsa-sha2-nistp256@openssh.com " + base64.b64encode(key_blob(point, "localhost")).decode()
        signers = os.path.join(d, "allowed_signers")
        open(signers, "w").write(f'alice namespaces="baton" {pub}\n')

        def signature(namespace, message, uv="required"):
            a, cd, der = get(b, signed_data(namespace, message), uv)
            return sshsig(point, "localhost", namespace, a, cd, der), (a, cd, der)

        good, raw = signature("baton", MESSAGE)
        assert verify(d, signers, good, MESSAGE), "ssh-keygen refused the good signature"
        assert not verify(d, signers, good, FLIPPED), "ssh-keygen took the flipped decision"
        assert not verify(d, signers, good, MESSAGE, principal="bob"), "ssh-keygen took another principal"
        other_ns, _ = signature("git", MESSAGE)
        assert not verify(d, signers, other_ns, MESSAGE), "ssh-keygen took another namespace"
        # The user not verified: ssh-keygen takes it (baton must not).
        b.page("WebAuthn.setUserVerified", {"authenticatorId": auth_id, "isUserVerified": False})
        no_uv, _ = signature("baton", MESSAGE, uv="discouraged")
        assert verify(d, signers, no_uv, MESSAGE), "ssh-keygen refused the unverified signature"
        b.page("WebAuthn.setUserVerified", {"authenticatorId": auth_id, "isUserVerified": True})
        # Another origin of the same relying party: ssh-keygen takes it (a server checks its own).
        b.open(f"http://localhost:{other}/")
        elsewhere, _ = signature("baton", MESSAGE)
        assert verify(d, signers, elsewhere, MESSAGE), "ssh-keygen refused the other origin"
        b.proc.kill()

    a, cd, der = raw
    files = {
        "allowed_signers": f'alice namespaces="baton" {pub}\n',
        "message.txt": MESSAGE,
        "good.sig": good,
        "other_namespace.sig": other_ns,
        "no_user_verification.sig": no_uv,
        "other_origin.sig": elsewhere,
        "assertion.json": json.dumps({
            "origin": origin, "other_origin": f"http://localhost:{other}",
            "credential_spki": spki.hex(), "credential_authenticator_data": made["auth"],
            "credential_id": made["id"], "authenticator_data": a.hex(),
            "client_data_json": cd.decode(), "signature": der.hex()}, indent=1) + "\n",
    }
    for name, text in files.items():
        with open(os.path.join(HERE, name), "w") as f:
            f.write(text)
    print('vectors written; ssh-keygen said Good "baton" signature to the good one and refused the flipped decision, the other namespace and the other principal')


if __name__ == "__main__":
    main()
