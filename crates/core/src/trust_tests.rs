//! Tampering with who decides and how a gate is passed (issue 11): spoofed names, one
//! person voting twice, empty names, `mark` around a gate, `--auto-approve` on gates
//! that say who decides.
use super::testkit::*;
use super::*;
use baton_model::{AuditAction, EventKind};

fn two_of(approvers: &[&str], self_ok: bool) -> baton_workflow::Gate {
    let mut g = gate();
    g.approvers = approvers.iter().map(|a| a.to_string()).collect();
    g.quorum = 2;
    g.allow_self_approval = self_ok;
    g
}

#[test]
fn the_starter_under_another_case_or_padding_is_still_the_starter() {
    let g = two_of(&["olivia", "alice", "bob"], false);
    let mut sim = Sim::new(plan().step("ship").gate(g).build(), cfg());
    for spoof in ["OLIVIA", " olivia ", "Olivia\t"] {
        assert!(refused(&sim.approve("ship", spoof)).contains("self-approval"));
    }
    assert!(sim.events_named("approval_given").is_empty());
}

#[test]
fn one_person_casts_one_vote_whatever_the_case() {
    let g = two_of(&["alice", "bob"], true);
    let mut sim = Sim::new(plan().step("ship").gate(g).build(), cfg());
    assert!(sim.approve("ship", "alice").is_accepted());
    for again in ["ALICE", " Alice "] {
        assert!(refused(&sim.approve("ship", again)).contains("already approved"));
    }
    assert_eq!(sim.state("ship"), StepState::WaitingApproval, "quorum 2");
    assert!(
        sim.approve("ship", "Bob").is_accepted(),
        "approvers match by case too"
    );
    assert_eq!(sim.state("ship"), StepState::Running);
}

#[test]
fn an_empty_name_decides_nothing() {
    let mut sim = Sim::new(plan().step("ship").gate(gate()).build(), cfg());
    for nobody in ["", "  "] {
        assert!(refused(&sim.approve("ship", nobody)).contains("empty name"));
        let o = sim.cmd(Command::Reject {
            step: "ship".into(),
            operator: nobody.into(),
            reason: "no".into(),
            signature: None,
        });
        assert!(refused(&o).contains("empty name"));
        let o = sim.cmd(Command::Cancel {
            operator: nobody.into(),
            reason: None,
        });
        assert!(refused(&o).contains("empty name"));
    }
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
}

#[test]
fn mark_cannot_pass_a_gate_that_was_not_approved() {
    let p = plan()
        .step("build")
        .step_needs("ship", &["build"])
        .gate(two_of(&["alice", "bob"], false))
        .step_needs("after", &["ship"])
        .build();
    let mark = |state| Command::Mark {
        step: "ship".into(),
        state,
        operator: "mallory".into(),
        reason: "by hand".into(),
        outputs: Default::default(),
        artifacts: Vec::new(),
    };
    let mut sim = Sim::new(p, cfg());
    // Not open yet: marking it succeeded would skip the gate altogether.
    assert!(refused(&sim.cmd(mark(StepState::Succeeded))).contains("not approved"));
    sim.exit("build", 0);
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    assert!(refused(&sim.cmd(mark(StepState::Succeeded))).contains("waiting for approval"));
    assert!(refused(&sim.cmd(mark(StepState::Failed))).contains("waiting for approval"));
    let o = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "alice".into(),
        reason: "no".into(),
        signature: None,
    });
    assert!(o.is_accepted());
    assert!(refused(&sim.cmd(mark(StepState::Succeeded))).contains("not approved"));
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
}

#[test]
fn a_finished_approved_step_can_still_be_marked() {
    let mut sim = Sim::new(plan().step("ship").gate(gate()).build(), cfg());
    assert!(sim.approve("ship", "alice").is_accepted());
    sim.exit("ship", 1);
    assert_eq!(sim.state("ship"), StepState::Failed);
    let o = sim.cmd(Command::Mark {
        step: "ship".into(),
        state: StepState::Succeeded,
        operator: "alice".into(),
        reason: "ran it by hand".into(),
        outputs: Default::default(),
        artifacts: Vec::new(),
    });
    assert!(o.is_accepted());
    assert_eq!(sim.state("ship"), StepState::Succeeded);
}

#[test]
fn auto_approve_leaves_gates_that_say_who_decides() {
    let mut no_self = gate();
    no_self.allow_self_approval = false;
    let mut named = gate();
    named.approvers = vec!["alice".into()];
    let p = plan()
        .step("open")
        .gate(gate())
        .step("no_self")
        .gate(no_self)
        .step("named")
        .gate(named)
        .build();
    assert_eq!(p.gates_kept_from_auto_approve(), ["no_self", "named"]);
    let mut c = cfg();
    c.auto_approve = true;
    let sim = Sim::new(p, c);
    assert_eq!(spawned(&sim.last), ["open"]);
    assert_eq!(sim.state("no_self"), StepState::WaitingApproval);
    assert_eq!(sim.state("named"), StepState::WaitingApproval);
    let approved: Vec<_> = sim
        .core
        .view(Timestamp(T0))
        .audit
        .into_iter()
        .filter(|a| a.action == AuditAction::Approved)
        .map(|a| a.actor)
        .collect();
    assert_eq!(approved, ["olivia"], "the account that passed the flag");
}

#[test]
fn auto_approve_turned_on_by_a_resume_is_the_resumers() {
    let p = plan()
        .step("build")
        .step_needs("ship", &["build"])
        .gate(gate())
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.input(Input::Shutdown {
        reason: "SIGTERM".into(),
    });
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    core.enable_auto_approve();
    let mut fx = core.resume("rita", Timestamp(T0 + 10));
    // `build` was interrupted and runs again; when it succeeds the gate is auto-approved.
    assert_eq!(spawned(&fx), ["build"]);
    fx = core.handle(
        Input::StepExited(StepExit {
            step: 0,
            attempt: 2,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 1,
            outputs: vec![],
            usage: Usage::default(),
            stderr_tail: String::new(),
        }),
        Timestamp(T0 + 20),
    );
    assert_eq!(spawned(&fx), ["ship"]);
    let approved: Vec<_> = core
        .view(Timestamp(T0 + 20))
        .audit
        .into_iter()
        .filter(|a| a.action == AuditAction::Approved)
        .map(|a| a.actor)
        .collect();
    assert_eq!(approved, ["rita"], "not the starter `olivia`");
}

/// A throwaway key made for these tests with `ssh-keygen -t ed25519 -N ""`.
const TEST_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACD/Yw7c1bSgUA0oPdv8OL9RfK+ALPJ/+ybf+E6RY0ss9gAAAIjXvDi717w4
uwAAAAtzc2gtZWQyNTUxOQAAACD/Yw7c1bSgUA0oPdv8OL9RfK+ALPJ/+ybf+E6RY0ss9g
AAAEBYNSEih+pS842FgeWygB6fYnJXceSEIUo6wXuYxq+R8P9jDtzVtKBQDSg92/w4v1F8
r4As8n/7Jt/4TpFjSyz2AAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";
const TEST_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP9jDtzVtKBQDSg92/w4v1F8r4As8n/7Jt/4TpFjSyz2 test";

fn signed_plan() -> Arc<baton_workflow::Plan> {
    let mut g = gate();
    g.approvers = vec!["alice@example.com".into()];
    g.signed = true;
    let signers =
        baton_signing::AllowedSigners::parse(&format!("alice@example.com {TEST_PUB}\n")).unwrap();
    plan()
        .step("ship")
        .gate(g)
        .plan_mut(|p| {
            p.approvals = Some(baton_workflow::Approvals {
                path: "allowed_signers".into(),
                written: "allowed_signers".into(),
                signers: Arc::new(signers),
            })
        })
        .build()
}

fn sign(message: &str) -> String {
    ssh_key::PrivateKey::from_openssh(TEST_KEY)
        .unwrap()
        .sign("baton", ssh_key::HashAlg::Sha512, message.as_bytes())
        .unwrap()
        .to_pem(ssh_key::LineEnding::LF)
        .unwrap()
}

fn approve_signed(sim: &mut Sim, signature: Option<String>) -> CommandOutcome {
    sim.cmd(Command::Approve {
        step: "ship".into(),
        operator: "olivia".into(),
        reason: Some("ok".into()),
        signature,
        inputs: Default::default(),
    })
}

#[test]
fn a_signed_gate_takes_only_a_valid_signature_and_replay_checks_it_again() {
    let plan = signed_plan();
    let mut sim = Sim::new(plan.clone(), cfg());
    let why = refused(&approve_signed(&mut sim, None));
    assert!(
        why.contains("takes only signed decisions") && why.contains("--print-message"),
        "{why}"
    );
    let i = sim.idx("ship");
    let g = &sim.core.steps[i].gate;
    let message = baton_signing::message(
        "r1",
        "ship",
        g.opened_seq,
        &g.digest,
        baton_signing::Verdict::Approve,
        "ok",
        &Default::default(),
    );
    assert!(approve_signed(&mut sim, Some(sign(&message))).is_accepted());
    assert_eq!(sim.state("ship"), StepState::Running);
    let vote = sim.events_named("approval_given")[0].clone();
    assert!(
        matches!(&vote.kind, EventKind::ApprovalGiven { actor, .. } if actor == "alice@example.com")
    );

    // The history replays: the vote verifies again.
    let events = sim.core.events().to_vec();
    let core = Core::replay(plan.clone(), cfg(), &events).unwrap();
    assert_eq!(core.steps[i].state, StepState::Running);

    // The same history with the vote's signature swapped for one over other bytes: the
    // vote does not count, and the step's passage is refused as an edited history.
    let forged = sign("something else");
    let edited: Vec<Event> = events
        .iter()
        .cloned()
        .map(|mut e| {
            if let EventKind::ApprovalGiven {
                signature: Some(s), ..
            } = &mut e.kind
            {
                s.signature = forged.clone();
            }
            e
        })
        .collect();
    let err = Core::replay(plan, cfg(), &edited).err().unwrap();
    assert!(
        matches!(err, ReplayError::UnsignedPassage { ref step, .. } if step == "ship"),
        "{err}"
    );
}

#[test]
fn the_starters_key_is_refused_under_any_principal_it_is_listed_under() {
    // The run's starter is account `alice`; her key is listed as `alice@example.com`.
    let mut plan = (*signed_plan()).clone();
    let i = plan.steps.iter().position(|s| s.id == "ship").unwrap();
    if let Some(g) = plan.steps[i].gate.as_mut() {
        g.allow_self_approval = false;
    }
    let plan = Arc::new(plan);
    let starter = || RunConfig {
        operator: "alice".into(),
        ..cfg()
    };
    let mut sim = Sim::new(plan.clone(), starter());
    let g = &sim.core.steps[i].gate;
    let message = baton_signing::message(
        "r1",
        "ship",
        g.opened_seq,
        &g.digest,
        baton_signing::Verdict::Approve,
        "ok",
        &Default::default(),
    );
    let why = refused(&approve_signed(&mut sim, Some(sign(&message))));
    assert!(
        why.contains("self-approval")
            && why.contains("`alice@example.com`, which is account `alice`"),
        "{why}"
    );
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);

    // A vote by her key written into the history some other way does not count on
    // replay either.
    let mut allowed = Sim::new(signed_plan(), starter());
    assert!(approve_signed(&mut allowed, Some(sign(&message))).is_accepted());
    let events = allowed.core.events().to_vec();
    let err = Core::replay(plan, starter(), &events).err().unwrap();
    assert!(
        matches!(err, ReplayError::UnsignedPassage { ref step, .. } if step == "ship"),
        "{err}"
    );
}

#[test]
fn a_principal_is_the_account_before_its_at() {
    use baton_signing::principal_account;
    assert_eq!(principal_account("alice@example.com"), "alice");
    assert_eq!(principal_account("alice"), "alice");
    assert_eq!(principal_account("a@b@c"), "a");
}

#[test]
fn a_signed_approval_covers_its_inputs_and_edited_inputs_do_not_count_on_replay() {
    let mut g = gate();
    g.approvers = vec!["alice@example.com".into()];
    g.signed = true;
    g.inputs = vec![baton_workflow::ParamSpec {
        name: "model".into(),
        ty: baton_workflow::ParamType::Enum(vec!["pro".into(), "flash".into()]),
        required: true,
        default: None,
        pattern: None,
        secret: false,
        description: None,
        from_run: None,
    }];
    let signers =
        baton_signing::AllowedSigners::parse(&format!("alice@example.com {TEST_PUB}\n")).unwrap();
    let plan = plan()
        .step("ship")
        .gate(g)
        .plan_mut(|p| {
            p.approvals = Some(baton_workflow::Approvals {
                path: "allowed_signers".into(),
                written: "allowed_signers".into(),
                signers: Arc::new(signers),
            })
        })
        .build();
    let mut sim = Sim::new(plan.clone(), cfg());
    let i = sim.idx("ship");
    let inputs = BTreeMap::from([("model".to_string(), "flash".to_string())]);
    let g = &sim.core.steps[i].gate;
    let digest = baton_signing::approval_digest(&g.digest, &inputs);
    let message = baton_signing::message(
        "r1",
        "ship",
        g.opened_seq,
        &digest,
        baton_signing::Verdict::Approve,
        "ok",
        &inputs,
    );
    assert!(
        message.contains("inputs: {\"model\":\"flash\"}\n"),
        "{message}"
    );
    let approve = |sim: &mut Sim, model: &str, sig: String| {
        sim.cmd(Command::Approve {
            step: "ship".into(),
            operator: "olivia".into(),
            reason: Some("ok".into()),
            signature: Some(sig),
            inputs: BTreeMap::from([("model".to_string(), model.to_string())]),
        })
    };
    // A signature over `flash` does not approve `pro`.
    let why = refused(&approve(&mut sim, "pro", sign(&message)));
    assert!(why.contains("does not verify"), "{why}");
    assert!(approve(&mut sim, "flash", sign(&message)).is_accepted());
    assert_eq!(sim.state("ship"), StepState::Running);

    let events = sim.core.events().to_vec();
    assert!(Core::replay(plan.clone(), cfg(), &events).is_ok());
    // The recorded inputs edited after the fact: the signature no longer holds.
    let edited: Vec<Event> = events
        .iter()
        .cloned()
        .map(|mut e| {
            if let EventKind::ApprovalGiven { inputs, .. } = &mut e.kind {
                inputs.insert("model".into(), "pro".into());
            }
            e
        })
        .collect();
    let err = Core::replay(plan, cfg(), &edited).err().unwrap();
    assert!(
        matches!(err, ReplayError::UnsignedPassage { ref step, .. } if step == "ship"),
        "{err}"
    );
}

#[test]
fn a_signed_gate_is_pushed_back_only_with_a_signature_over_the_push_back() {
    let mut g = gate();
    g.approvers = vec!["alice@example.com".into()];
    g.signed = true;
    g.revise = vec![0];
    g.rounds = 3;
    let signers =
        baton_signing::AllowedSigners::parse(&format!("alice@example.com {TEST_PUB}\n")).unwrap();
    let plan = plan()
        .step("draft")
        .step_needs("ship", &["draft"])
        .gate(g)
        .plan_mut(|p| {
            p.approvals = Some(baton_workflow::Approvals {
                path: "allowed_signers".into(),
                written: "allowed_signers".into(),
                signers: Arc::new(signers),
            })
        })
        .build();
    let mut sim = Sim::new(plan, cfg());
    sim.exit("draft", 0);
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    let push = |sim: &mut Sim, signature: Option<String>| {
        sim.cmd(Command::PushBack {
            step: "ship".into(),
            operator: "olivia".into(),
            reason: "shorter".into(),
            signature,
        })
    };
    let message = |sim: &Sim, v| {
        let g = &sim.core.steps[sim.idx("ship")].gate;
        baton_signing::message(
            "r1",
            "ship",
            g.opened_seq,
            &g.digest,
            v,
            "shorter",
            &Default::default(),
        )
    };
    assert!(refused(&push(&mut sim, None)).contains("takes only signed decisions"));
    // An approval's signature does not push back, nor a push-back's of another reason.
    let approval = sign(&message(&sim, baton_signing::Verdict::Approve));
    assert!(refused(&push(&mut sim, Some(approval))).contains("does not verify"));
    let good = sign(&message(&sim, baton_signing::Verdict::PushBack));
    assert!(push(&mut sim, Some(good)).is_accepted());
    assert_eq!(sim.state("ship"), StepState::Pending);
    let pushed = sim.events_named("gate_pushed_back")[0].clone();
    let EventKind::GatePushedBack {
        actor, signature, ..
    } = &pushed.kind
    else {
        panic!()
    };
    // The key's principal pushed back, not the account that handed it in.
    assert_eq!(actor, "alice@example.com");
    let sig = signature.as_ref().expect("the signature on record");
    assert!(
        sig.message.contains("\ndecision: push_back\n"),
        "{}",
        sig.message
    );
}
