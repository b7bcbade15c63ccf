// The approval page: every open gate with its facts; a decision is signed by the
// device's passkey over baton's decision message, which the server builds and shows.
// Every value is written as text (textContent), never as markup.
"use strict";

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};
const bytes = (buf) => Array.from(new Uint8Array(buf));

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  try { return JSON.parse(text); } catch (_) { return { refused: { code: "http_" + r.status, message: text } }; }
}

function facts(g) {
  const dl = el("dl");
  const row = (k, v) => { dl.append(el("dt", null, k), el("dd", null, v)); };
  if (g.ask) row("ask", g.ask);
  if (g.run_id !== g.ask) row("run", g.run_id + " (" + g.run_state + ")");
  row("workflow", g.workflow);
  row("approvers", (g.approvers.length ? g.approvers.join(", ") : "anyone") +
      " · " + g.votes.length + "/" + g.quorum);
  if (g.votes.length) row("voted", g.votes.join(", "));
  // A deadline is a time in milliseconds since the epoch; shown in UTC.
  if (g.deadline) row("times out", typeof g.deadline === "number"
                                   ? new Date(g.deadline).toISOString().replace(".000Z", "Z")
                                   : g.deadline);
  if (g.round) row("round", g.round.n + " of " + g.round.of);
  row("binds to", g.ask ? "ask " + g.ask + ", its prompt and the inputs given"
                        : "gate opening " + g.opening + ", digest " + g.digest);
  return dl;
}

function block(title, text, open) {
  if (!text) return null;
  const d = el("details");
  d.open = !!open;
  d.append(el("summary", null, title), el("pre", null, text));
  return d;
}

function inputField(i) {
  const label = el("label", null, i.name + (i.required ? " *" : "") +
                   (i.description ? " — " + i.description : ""));
  let f;
  if (i.type === "enum" || i.type === "bool") {
    f = el("select");
    const values = i.type === "bool" ? ["true", "false"] : i.values;
    if (!i.required) f.append(el("option", null, ""));
    for (const v of values) f.append(el("option", null, v));
    if (i.default !== null) f.value = i.default;
  } else {
    f = el("input");
    if (i.type === "int") f.inputMode = "numeric";
    if (i.default !== null) f.value = i.default;
    if (i.pattern) f.placeholder = i.pattern;
  }
  f.name = i.name;
  f.dataset.input = i.name;
  label.append(f);
  return label;
}

async function decide(g, card, decision) {
  const result = card.querySelector(".result");
  const reason = card.querySelector("textarea").value;
  const inputs = {};
  if (decision === "approve") {
    for (const f of card.querySelectorAll("[data-input]")) {
      if (f.value !== "") inputs[f.dataset.input] = f.value;
    }
  }
  const asked = { run: g.run_id, step: g.step, decision, reason, inputs };
  if (g.ask) asked.ask = g.ask;
  result.className = "result";
  result.textContent = "preparing the message…";
  const m = await post("/approve/message", asked);
  if (m.refused) return show(result, m);
  result.textContent = "sign with your passkey:\n" + m.message;
  let cred;
  try {
    cred = await navigator.credentials.get({ publicKey: {
      challenge: new Uint8Array(m.challenge),
      rpId: state.rp_id,
      userVerification: "required",
      timeout: 120000,
    } });
  } catch (e) {
    result.className = "result refused";
    result.textContent = "not signed: " + e.message;
    return;
  }
  asked.assertion = {
    authenticator_data: bytes(cred.response.authenticatorData),
    client_data_json: bytes(cred.response.clientDataJSON),
    signature: bytes(cred.response.signature),
  };
  show(result, await post("/approve/decide", asked));
}

function show(result, answer) {
  const ok = answer.accepted || answer.recorded;
  result.className = "result " + (ok ? "accepted" : "refused");
  result.textContent = ok ? (answer.accepted || answer.recorded).message
                          : "refused (" + answer.refused.code + "): " + answer.refused.message;
  result.dataset.done = ok ? "accepted" : "refused";
  result.dataset.code = ok ? "" : answer.refused.code;
}

function card(g) {
  const c = el("section", "gate");
  c.dataset.run = g.run_id;
  c.dataset.step = g.step;
  if (g.ask) c.dataset.ask = g.ask;
  c.append(el("h2", null, g.workflow + " · " + (g.ask ? "ask" : g.step)), el("p", "prompt", g.prompt), facts(g));
  for (const b of [
    block("command", g.command, true),
    block("environment", g.env.map(([k, v]) => k + "=" + v).join("\n")),
    block("outputs it needs", g.needs_outputs.map(([s, k, v]) => s + "." + k + " = " + v).join("\n")),
    block("changes since the last round", g.revision_diff, true),
  ]) if (b) c.append(b);
  if (!g.decidable) {
    c.append(el("p", "why", g.why_not));
    return c;
  }
  for (const i of g.inputs) c.append(inputField(i));
  const reason = el("label", null, "reason");
  reason.append(el("textarea"));
  c.append(reason);
  const actions = el("div", "actions");
  const verbs = [["approve", "Approve"], ["reject", "Reject"]];
  // A push-back is signed as the others are; in its last round the engine refuses it
  // (`rounds_used`), and the button says so with the refusal.
  if (g.push_back || g.revise.length) verbs.push(["push_back", "Push back"]);
  for (const [verb, text] of verbs) {
    const b = el("button", verb, text);
    b.type = "button";
    b.dataset.decision = verb;
    b.addEventListener("click", () => decide(g, c, verb));
    actions.append(b);
  }
  c.append(actions, el("div", "result"));
  return c;
}

const state = { rp_id: location.hostname };

async function load() {
  const status = document.getElementById("status");
  const r = await fetch("/approve/gates");
  if (!r.ok) { status.textContent = await r.text(); return; }
  const data = await r.json();
  state.rp_id = data.rp_id;
  const main = document.getElementById("gates");
  main.replaceChildren(...data.gates.map(card));
  const asks = data.gates.filter((g) => g.ask).length;
  status.textContent = (data.gates.length - asks) + " open gate(s), " + asks +
    " ask(s) · signed with your passkey for " + data.rp_id;
  document.body.dataset.loaded = "yes";
}

load();
