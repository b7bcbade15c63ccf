//! Issue 80, points 2, 4 and 6: the approval page of `baton serve --approval-origin`,
//! driven by Debian's headless Chromium at a phone's viewport with a virtual platform
//! authenticator (a passkey that verifies its user). A signed gate is approved with a
//! typed input, another rejected with a reason and a third pushed back, each signed by
//! the passkey on the page; what they record verifies under `baton audit verify` and
//! `ssh-keygen -Y verify`. Refused, changing nothing and on record: an unsigned gate's
//! decision or push-back, a decision without an assertion, an assertion replayed on
//! another gate, on its own decided gate (its counter is not above the one recorded)
//! and on a later opening of its gate; and by `baton approve --signature`, an
//! assertion whose counter a later one recorded passed.
use super::browser::Browser;
use super::{Served, term};
use crate::helpers::*;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};

/// A free port on 127.0.0.1 (bound, read, released): the page's origin names it before
/// the serve starts.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// In the page: a passkey made for relying party `localhost` under `user`, and its
/// allowed-signers line (`sk-ecdsa-sha2-nistp256@openssh.com`, application `localhost`),
/// built from the credential's public key as `baton passkey enrol` prints it.
const ENROL: &str = r#"(async (principal) => {
  const cred = await navigator.credentials.create({ publicKey: {
    rp: { id: "localhost", name: "baton" },
    user: { id: new TextEncoder().encode(principal), name: principal, displayName: principal },
    challenge: crypto.getRandomValues(new Uint8Array(32)),
    pubKeyCredParams: [{ type: "public-key", alg: -7 }],
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
  } });
  const spki = new Uint8Array(cred.response.getPublicKey());
  const point = spki.slice(spki.length - 65);
  const str = (b) => { const n = b.length; return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...b]; };
  const txt = (s) => str(Array.from(new TextEncoder().encode(s)));
  const blob = [...txt("sk-ecdsa-sha2-nistp256@openssh.com"), ...txt("nistp256"), ...str(Array.from(point)), ...txt("localhost")];
  return principal + ' namespaces="baton" sk-ecdsa-sha2-nistp256@openssh.com ' + btoa(String.fromCharCode(...blob));
})"#;

const WORKFLOW: &str = r#"name = "phone"
[approvals]
allowed_signers = "allowed_signers"

[[step]]
id = "deploy"
run = "echo deploying $TARGET"
env = { TARGET = "${{ steps.deploy.inputs.target }}" }
[step.gate]
prompt = "Ship v2 to production?"
approvers = ["alice@example.com"]
signed = true
[step.gate.inputs]
target = { type = "enum", values = ["eu", "us"], required = true }

[[step]]
id = "drop"
run = "echo dropping"
gate = { prompt = "Drop the old table?", approvers = ["alice@example.com"], signed = true }

[[step]]
id = "rollback"
run = "echo rolling back"
gate = { prompt = "Roll back?", approvers = ["alice@example.com"], signed = true }

[[step]]
id = "draft"
run = "echo draft"

[[step]]
id = "publish"
needs = ["draft"]
run = "echo publish"
gate = { prompt = "Publish?", revise = ["draft"] }

[[step]]
id = "notes"
run = "echo notes"

[[step]]
id = "review"
needs = ["notes"]
run = "echo reviewed"
gate = { prompt = "Release notes fine?", approvers = ["alice@example.com"], signed = true, revise = ["notes"] }
"#;

struct Phone {
    served: Served,
    browser: Browser,
    serve: Child,
    run: Child,
    id: String,
    url: String,
    /// `baton ask --signed`, waiting for alice's answer, and its ask's id.
    asker: Child,
    ask: String,
}

fn setup() -> Option<Phone> {
    let mut served = Served::new();
    let mut browser = Browser::start(served.env.path())?;
    browser.phone_with_passkeys();
    let port = free_port();
    let origin = format!("http://localhost:{port}");
    let listen = format!("127.0.0.1:{port}");
    let (serve, log) = served.start(&["--listen", &listen, "--approval-origin", &origin]);
    super::wait_log(&log, "approvals: serving", 30);
    let url = format!("{origin}/approve");
    browser.open(&url);
    let line = browser.eval(&format!("{ENROL}('alice@example.com')"));
    let line = line.as_str().unwrap().to_string();
    std::fs::write(
        served.env.path().join("allowed_signers"),
        format!("{line}\n"),
    )
    .unwrap();
    served.env.workflow("w.toml", WORKFLOW);
    let run = served
        .env
        .cmd()
        .args(["run", "w.toml", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let id = served.env.wait_run_id();
    for step in ["deploy", "drop", "rollback", "publish", "review"] {
        served.env.wait_step(&id, step, "waiting_approval", 30);
    }
    let (asker, ask) = signed_ask(&served.env);
    Some(Phone {
        served,
        browser,
        serve,
        run,
        id,
        url,
        asker,
        ask,
    })
}

/// `baton ask --signed` with the run's allowed signers, alice its approver, and its
/// ask's id once the inbox lists it.
fn signed_ask(env: &Env) -> (Child, String) {
    let asker = env
        .cmd()
        .args(["ask", "--prompt", "Flush the cache?"])
        .args([
            "--input",
            "zone=enum:eu|us",
            "--signed",
            "--allowed-signers",
        ])
        .arg(env.path().join("allowed_signers"))
        .args([
            "--approvers",
            "alice@example.com",
            "--json",
            "--timeout",
            "2m",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = wait_until("the ask in the inbox", secs(20), || {
        let out = env.run(&["inbox", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find_map(|w| w["ask"].as_str().map(str::to_string))
    });
    (asker, id)
}

impl Phone {
    fn card(&self, step: &str) -> String {
        format!("document.querySelector('section.gate[data-step=\"{step}\"]')")
    }

    /// Click `decision` on `step`'s card (its reason and inputs filled in first) and
    /// wait for the page's verdict: `accepted` or `refused`, and the refusal's code.
    fn click(
        &mut self,
        step: &str,
        decision: &str,
        reason: &str,
        inputs: &[(&str, &str)],
    ) -> (String, String) {
        let card = self.card(step);
        self.click_card(&card, decision, reason, inputs)
    }

    /// [`Phone::click`] on the card `card` (a JavaScript expression) selects.
    fn click_card(
        &mut self,
        card: &str,
        decision: &str,
        reason: &str,
        inputs: &[(&str, &str)],
    ) -> (String, String) {
        self.browser.open(&self.url.clone());
        // What the page sends is kept (`window.sent`), to be replayed later.
        let mut fill = "const f = window.fetch; window.sent = []; window.fetch = (u, o) => { if (u === '/approve/decide') window.sent.push(o.body); return f(u, o); };".to_string();
        fill.push_str(&format!(
            "{card}.querySelector('textarea').value = {};",
            json!(reason)
        ));
        for (name, value) in inputs {
            fill.push_str(&format!(
                "{card}.querySelector('[data-input=\"{name}\"]').value = {};",
                json!(value)
            ));
        }
        fill.push_str(&format!(
            "{card}.querySelector('button[data-decision=\"{decision}\"]').click(); true"
        ));
        self.browser.eval(&fill);
        let done = format!("{card}.querySelector('.result').dataset.done");
        self.browser.wait_for(&done, 30);
        let verdict = self.browser.eval(&format!(
            "[{card}.querySelector('.result').dataset.done, {card}.querySelector('.result').dataset.code]"
        ));
        (
            verdict[0].as_str().unwrap().to_string(),
            verdict[1].as_str().unwrap_or_default().to_string(),
        )
    }

    /// The last decision the page sent, as it sent it.
    fn sent(&mut self) -> Value {
        let body = self.browser.eval("window.sent[window.sent.length - 1]");
        serde_json::from_str(body.as_str().unwrap()).unwrap()
    }

    /// A POST from the page's own script (as a forged or replayed request would be).
    fn post(&mut self, path: &str, body: &Value) -> Value {
        self.browser.eval(&format!(
            "fetch({}, {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }}, body: JSON.stringify({body}) }}).then(r => r.json())",
            json!(path)
        ))
    }

    fn refusals(&self) -> Vec<Value> {
        let out = self.served.env.run(&["audit", &self.id, "--json"]);
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "command_refused")
            .cloned()
            .collect()
    }
}

#[test]
fn a_phone_approves_and_rejects_signed_gates_with_a_passkey() {
    let Some(mut p) = setup() else { return };
    // The page shows what the CLI shows, and what a decision binds to.
    p.browser.open(&p.url.clone());
    let facts = p.post_free_get();
    let deploy = facts["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["step"] == "deploy")
        .unwrap()
        .clone();
    assert_eq!(deploy["prompt"], "Ship v2 to production?");
    assert_eq!(deploy["run_id"], p.id.as_str());
    assert_eq!(deploy["signed"], true);
    assert!(deploy["digest"].as_str().unwrap().len() >= 32, "{deploy}");
    assert!(deploy["opening"].as_u64().unwrap() > 0);
    let publish = facts["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["step"] == "publish")
        .unwrap();
    assert_eq!(publish["decidable"], false, "{publish}");
    let drop_opened = facts["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["step"] == "drop")
        .unwrap()["opening"]
        .as_u64()
        .unwrap();
    let shot = p.browser.screenshot();
    std::fs::write(p.served.env.path().join("approval-page.png"), &shot).unwrap();
    // `SCREENSHOT_DIR=docs/images cargo test --test it approval_page` refreshes the docs' one.
    if let Ok(docs) = std::env::var("SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&docs).join("approval-page.png"), &shot).unwrap();
    }

    // Approve with a typed input, signed by the passkey.
    let (verdict, code) = p.click("deploy", "approve", "canary is green", &[("target", "eu")]);
    assert_eq!((verdict.as_str(), code.as_str()), ("accepted", ""));
    let approval = p.sent();
    p.served.env.wait_step(&p.id, "deploy", "succeeded", 30);
    // Reject with a reason.
    let (verdict, _) = p.click("drop", "reject", "not before the backup", &[]);
    assert_eq!(verdict, "accepted");
    let rejection = p.sent();
    p.served.env.wait_step(&p.id, "drop", "rejected", 30);
    // An assertion made now and kept, then a push-back signed after it.
    let kept = p.assertion_for("rollback", "approve", "kept");
    a_signed_push_back_runs_the_revised_step_again(&mut p);

    // Recorded as alice's signed decisions, which ssh-keygen verifies.
    let out = p.served.env.run(&["audit", &p.id, "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let signed: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["details"]["signature"].is_object())
        .collect();
    assert_eq!(signed.len(), 3, "{rows:#}");
    assert!(
        signed.iter().any(|r| r["action"] == "pushed_back"),
        "{rows:#}"
    );
    for r in &signed {
        assert_eq!(r["actor"], "alice@example.com", "{r:#}");
        ssh_keygen_verifies(&p, &r["details"]["signature"]);
    }
    let out = p.served.env.run(&["audit", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    the_cli_checks_a_passkey_s_counter_as_the_page_does(&mut p, &kept);
    refusals_change_nothing(&mut p, &approval);
    a_later_opening_takes_no_earlier_assertion(&mut p, &rejection, drop_opened);
    the_signed_ask_is_answered_on_the_page(&mut p);
    let _ = p.run.kill();
    let _ = term(p.serve);
}

impl Phone {
    fn post_free_get(&mut self) -> Value {
        self.browser
            .eval("fetch('/approve/gates').then(r => r.json())")
    }
}

fn ssh_keygen_verifies(p: &Phone, sig: &Value) {
    let path = p.served.env.path().join("page.sig");
    std::fs::write(&path, sig["signature"].as_str().unwrap()).unwrap();
    let mut verify = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-n",
            "baton",
            "-I",
            "alice@example.com",
            "-f",
        ])
        .arg(p.served.env.path().join("allowed_signers"))
        .arg("-s")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    verify
        .stdin
        .take()
        .unwrap()
        .write_all(sig["message"].as_str().unwrap().as_bytes())
        .unwrap();
    let out = verify.wait_with_output().unwrap();
    assert!(
        out.status.success() && text(&out.stdout).contains("Good"),
        "ssh-keygen -Y verify: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A push-back of a signed gate with `revise`, signed by the passkey on the page: the
/// revised step runs again and the gate opens again, round 2, recorded as alice's.
fn a_signed_push_back_runs_the_revised_step_again(p: &mut Phone) {
    let opening = |p: &mut Phone| {
        p.post_free_get()["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["step"] == "review")
            .map(|g| (g["opening"].as_u64().unwrap(), g["round"]["n"].as_u64()))
    };
    let (first, _) = opening(p).expect("review's gate is open");
    let (verdict, code) = p.click("review", "push_back", "name the breaking change", &[]);
    assert_eq!((verdict.as_str(), code.as_str()), ("accepted", ""));
    let again = wait_until("review's gate to open again", secs(30), || {
        opening(p).filter(|(o, _)| *o > first)
    });
    assert_eq!(again.1, Some(2), "round 2: {again:?}");
    let out = p.served.env.run(&["audit", &p.id, "--json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pushed = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "pushed_back")
        .unwrap_or_else(|| panic!("a push-back on record: {rows:#}"));
    assert_eq!(pushed["actor"], "alice@example.com", "{pushed:#}");
    let message = pushed["details"]["signature"]["message"].as_str().unwrap();
    assert!(
        message.contains("\ndecision: push_back\nreason: \"name the breaking change\"\n"),
        "{message}"
    );
}

impl Phone {
    /// An assertion of the passkey over `decision` of `step` with `reason`, made on the
    /// page and not sent, as the armored SSHSIG `baton approve --signature` takes.
    fn assertion_for(&mut self, step: &str, decision: &str, reason: &str) -> String {
        self.browser.open(&self.url.clone());
        let asked = json!({ "run": self.id, "step": step, "decision": decision, "reason": reason });
        let got = self.browser.eval(&format!(
            "(async () => {{ const r = await fetch('/approve/message', {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }}, body: JSON.stringify({asked}) }}); const m = await r.json();
               const c = await navigator.credentials.get({{ publicKey: {{ challenge: new Uint8Array(m.challenge), rpId: 'localhost', userVerification: 'required' }} }});
               const b = (x) => Array.from(new Uint8Array(x));
               return [b(c.response.authenticatorData), b(c.response.clientDataJSON), b(c.response.signature)]; }})()"
        ));
        let part = |i: usize| -> Vec<u8> {
            got[i]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u8)
                .collect()
        };
        let (data, client, sig) = (part(0), part(1), part(2));
        let signers = baton::signing::AllowedSigners::parse(
            &std::fs::read_to_string(self.served.env.path().join("allowed_signers")).unwrap(),
        )
        .unwrap();
        let assertion = baton::signing::Assertion {
            authenticator_data: &data,
            client_data_json: &client,
            signature: &sig,
        };
        baton::signing::sshsig_from_assertion(signers.entries()[0].key.key_data(), &assertion)
            .unwrap()
    }
}

/// `baton approve --signature` with a passkey's signature made before a later one was
/// recorded: refused by the same counter check as the page's, nothing decided.
fn the_cli_checks_a_passkey_s_counter_as_the_page_does(p: &mut Phone, kept: &str) {
    let path = p.served.env.path().join("kept.sig");
    std::fs::write(&path, kept).unwrap();
    let out = p.served.env.run(&[
        "approve",
        &p.id,
        "rollback",
        "--reason",
        "kept",
        "--signature",
        path.to_str().unwrap(),
        "--json",
    ]);
    let said: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(said["refused"]["code"], "bad_signature", "{said}");
    assert!(
        said["refused"]["message"]
            .as_str()
            .unwrap()
            .contains("not above"),
        "{said}"
    );
    let show = p.served.env.show(&p.id);
    assert_eq!(
        step_state(&show, "rollback").as_deref(),
        Some("waiting_approval")
    );
}

/// The refusals of point 4, each on record and changing nothing: `approval` is what
/// the page sent to approve `deploy`.
fn refusals_change_nothing(p: &mut Phone, approval: &Value) {
    let before = p.refusals().len();
    // An unsigned gate, from its card's refusal and by a forged request alike.
    let answer = p.post(
        "/approve/decide",
        &json!({ "run": p.id, "step": "publish", "decision": "approve", "reason": "ok" }),
    );
    assert_eq!(answer["refused"]["code"], "not_signed", "{answer}");
    // A push-back: never signed, so never taken here.
    let answer = p.post(
        "/approve/decide",
        &json!({ "run": p.id, "step": "publish", "decision": "push_back", "reason": "shorter" }),
    );
    assert_eq!(answer["refused"]["code"], "not_signed", "{answer}");
    // No assertion: the page's request alone decides nothing.
    let answer = p.post(
        "/approve/decide",
        &json!({ "run": p.id, "step": "rollback", "decision": "approve", "reason": "ok" }),
    );
    assert_eq!(answer["refused"]["code"], "signature_required", "{answer}");
    // The approval of `deploy` replayed on another gate, then on its own gate, decided.
    let mut replay = approval.clone();
    replay["step"] = json!("rollback");
    replay["inputs"] = json!({});
    let answer = p.post("/approve/decide", &replay);
    assert_eq!(answer["refused"]["code"], "bad_signature", "{answer}");
    // On its own decided gate the passkey's counter is not above the one recorded.
    let answer = p.post("/approve/decide", approval);
    assert_eq!(answer["refused"]["code"], "bad_signature", "{answer}");
    let said = answer["refused"]["message"].as_str().unwrap();
    assert!(said.contains("not above"), "{answer}");
    let show = p.served.env.show(&p.id);
    assert_eq!(
        step_state(&show, "publish").as_deref(),
        Some("waiting_approval")
    );
    assert_eq!(
        step_state(&show, "rollback").as_deref(),
        Some("waiting_approval")
    );
    // On record: the first unsigned refusal of each step and code (the push-back repeats
    // `publish`'s `not_signed`), and the counter's refusal of the signature that verified.
    let after = p.refusals();
    assert_eq!(after.len(), before + 4, "{after:#?}");
    let page: Vec<_> = after
        .iter()
        .filter(|r| r["details"]["via"] == "approval page")
        .collect();
    assert_eq!(page.len(), 4, "{after:#?}");
    let verified: Vec<_> = page
        .iter()
        .filter(|r| r["details"]["verified"] == true)
        .collect();
    assert_eq!(verified.len(), 1, "{page:#?}");
    assert_eq!(verified[0]["step"], "deploy", "{page:#?}");
    // The same replay again adds no row.
    p.post("/approve/decide", approval);
    assert_eq!(p.refusals().len(), before + 4);
}

/// The signed ask, shown with the gates, approved with a typed input and signed by the
/// passkey: `baton ask` hears alice's approval; the same assertion again is refused.
fn the_signed_ask_is_answered_on_the_page(p: &mut Phone) {
    let facts = p.post_free_get();
    let ask = facts["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["ask"] == p.ask.as_str())
        .unwrap_or_else(|| panic!("the ask on the page: {facts:#}"))
        .clone();
    assert_eq!(ask["prompt"], "Flush the cache?");
    assert_eq!(ask["decidable"], true, "{ask}");
    let card = format!(
        "document.querySelector('section.gate[data-ask=\"{}\"]')",
        p.ask
    );
    // An input the ask does not offer is refused as the CLI refuses it.
    let (verdict, code) = p.click_card(&card, "approve", "cold cache", &[("zone", "mars")]);
    assert_eq!(
        (verdict.as_str(), code.as_str()),
        ("refused", "input_invalid")
    );
    let (verdict, code) = p.click_card(&card, "approve", "cold cache", &[("zone", "us")]);
    assert_eq!((verdict.as_str(), code.as_str()), ("accepted", ""));
    let answer = p.sent();
    wait_until("baton ask to end", secs(30), || {
        p.asker.try_wait().unwrap().map(|_| ())
    });
    let mut said = String::new();
    use std::io::Read;
    p.asker
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let said: Value = serde_json::from_str(&said).unwrap();
    assert_eq!(said["state"], "approved", "{said:#}");
    assert_eq!(said["inputs"]["zone"], "us", "{said:#}");
    assert_eq!(said["decided_by"], "alice@example.com", "{said:#}");
    // The same answer again: the ask is closed, and the counter is not above; refused
    // on record where the ask's votes are (the subject `asks`), once.
    let again = p.post("/approve/decide", &answer);
    assert!(again["refused"]["code"].is_string(), "{again}");
    let ask_refusals = |p: &Phone| {
        let out = p.served.env.run(&["audit", "--json"]);
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows: Vec<Value> = (rows.as_array().unwrap().iter())
            .filter(|r| r["action"] == "command_refused" && r["step"] == p.ask.as_str())
            .filter(|r| r["details"]["via"] == "approval page")
            .cloned()
            .collect();
        rows
    };
    let refused = ask_refusals(p);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["details"]["code"], again["refused"]["code"]);
    p.post("/approve/decide", &answer);
    assert_eq!(ask_refusals(p).len(), 1);
}

/// The rejection of `drop`'s first opening, sent again once `baton retry` opened the
/// gate again: its message names the first opening, so it verifies at none other.
fn a_later_opening_takes_no_earlier_assertion(p: &mut Phone, rejection: &Value, first: u64) {
    let opening = |p: &mut Phone| {
        p.post_free_get()["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["step"] == "drop")
            .map(|g| g["opening"].as_u64().unwrap())
    };
    let out = p.served.env.run(&["retry", &p.id, "drop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    p.served
        .env
        .wait_step(&p.id, "drop", "waiting_approval", 30);
    let second = opening(p).expect("drop's gate is open again");
    assert!(second > first, "{first} then {second}");
    let answer = p.post("/approve/decide", rejection);
    assert_eq!(answer["refused"]["code"], "bad_signature", "{answer}");
    let said = answer["refused"]["message"].as_str().unwrap();
    assert!(said.contains("no passkey"), "{answer}");
    assert_eq!(opening(p), Some(second));
    let show = p.served.env.show(&p.id);
    assert_eq!(
        step_state(&show, "drop").as_deref(),
        Some("waiting_approval")
    );
}

/// A serve with the page at `http://localhost:PORT` and a run waiting at its signed
/// gates (the passkey's key of the signing crate's vectors allowed): no browser.
struct Gated {
    served: Served,
    serve: Child,
    run: Child,
    id: String,
    port: u16,
}

fn gated() -> Gated {
    let mut served = Served::new();
    let port = free_port();
    let origin = format!("http://localhost:{port}");
    let listen = format!("127.0.0.1:{port}");
    let (serve, log) = served.start(&["--listen", &listen, "--approval-origin", &origin]);
    super::wait_log(&log, "approvals: serving", 30);
    std::fs::write(
        served.env.path().join("allowed_signers"),
        include_str!("../../../crates/signing/tests/vectors/allowed_signers").replacen(
            "alice",
            "alice@example.com",
            1,
        ),
    )
    .unwrap();
    served.env.workflow("w.toml", WORKFLOW);
    let run = served
        .env
        .cmd()
        .args(["run", "w.toml", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let id = served.env.wait_run_id();
    served
        .env
        .wait_step(&id, "rollback", "waiting_approval", 30);
    Gated {
        served,
        serve,
        run,
        id,
        port,
    }
}

impl Gated {
    /// One raw request to the listener (`head`: its lines after the request line, each
    /// ending `\r\n`): the whole answer.
    fn raw(&self, line: &str, head: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        write!(
            c,
            "{line} HTTP/1.1\r\n{head}Connection: close\r\n\r\n{body}"
        )
        .unwrap();
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        out
    }

    fn host(&self) -> String {
        format!("Host: localhost:{}\r\n", self.port)
    }

    /// A POST from the page's own origin.
    fn post(&self, body: &Value) -> String {
        let body = body.to_string();
        let head = format!(
            "{}Origin: http://localhost:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host(),
            self.port,
            body.len()
        );
        self.raw("POST /approve/decide", &head, &body)
    }

    fn page_refusals(&self) -> Vec<Value> {
        let out = self.served.env.run(&["audit", &self.id, "--json"]);
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "command_refused" && r["details"]["via"] == "approval page")
            .cloned()
            .collect()
    }

    fn stop(mut self) {
        let _ = self.run.kill();
        let _ = term(self.serve);
    }
}

#[test]
fn a_request_naming_another_host_or_origin_or_chunked_is_refused_unread() {
    let g = gated();
    // The page's own host reads the gates.
    let own = g.raw("GET /approve/gates", &g.host(), "");
    assert!(own.starts_with("HTTP/1.1 200"), "{own}");
    assert!(own.contains("Roll back?"), "{own}");
    // A DNS-rebinding page of another site names its own host: nothing is read.
    for host in ["Host: evil.example\r\n", "Host: evil.example:80\r\n", ""] {
        let answer = g.raw("GET /approve/gates", host, "");
        assert!(answer.starts_with("HTTP/1.1 421"), "{host}: {answer}");
        assert!(!answer.contains("Roll back?"), "{answer}");
    }
    // A POST without the page's Origin, or with another, is refused before its body.
    let body = json!({ "run": g.id, "step": "rollback", "decision": "approve" }).to_string();
    for origin in ["", "Origin: http://evil.example\r\n", "Origin: null\r\n"] {
        let head = format!(
            "{}{origin}Content-Type: application/json\r\nContent-Length: {}\r\n",
            g.host(),
            body.len()
        );
        let answer = g.raw("POST /approve/decide", &head, &body);
        assert!(answer.starts_with("HTTP/1.1 403"), "{origin}: {answer}");
        assert!(!answer.contains("signature_required"), "{answer}");
    }
    // A chunked body is refused, not read as an empty one.
    let head = format!(
        "{}Origin: http://localhost:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n",
        g.host(),
        g.port,
        body.len()
    );
    let answer = g.raw("POST /approve/decide", &head, &body);
    assert!(answer.starts_with("HTTP/1.1 501"), "{answer}");
    assert!(g.page_refusals().is_empty(), "{:#?}", g.page_refusals());
    g.stop();
}

#[test]
fn fifty_unsigned_posts_add_one_record_per_step_and_code() {
    let g = gated();
    let bare = json!({ "run": g.id, "step": "rollback", "decision": "approve", "reason": "x" });
    // An assertion no key made, claiming an origin of 16 KiB.
    let forged = json!({ "run": g.id, "step": "rollback", "decision": "approve", "assertion": {
        "authenticator_data": vec![1u8; 37],
        "client_data_json": format!("{{\"origin\":\"https://{}\"}}", "e".repeat(16_000)).into_bytes(),
        "signature": vec![48u8, 6, 2, 1, 1, 2, 1, 1],
    } });
    for i in 0..50 {
        let (body, code) = match i % 2 {
            0 => (&bare, "signature_required"),
            _ => (&forged, "bad_signature"),
        };
        let answer = g.post(body);
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains(code), "{answer}");
        assert!(!answer.contains("eeeeeeee"), "{answer}");
    }
    let rows = g.page_refusals();
    let mut codes: Vec<&str> = rows
        .iter()
        .map(|r| r["details"]["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, ["bad_signature", "signature_required"], "{rows:#?}");
    for r in &rows {
        assert_eq!(r["details"]["verified"], false, "{r:#}");
        assert!(r.to_string().len() < 2048, "{r:#}");
    }
    let show = g.served.env.show(&g.id);
    assert_eq!(
        step_state(&show, "rollback").as_deref(),
        Some("waiting_approval")
    );
    g.stop();
}
