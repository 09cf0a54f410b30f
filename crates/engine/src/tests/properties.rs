//! Property: whatever the interleaving of callers arriving and hanging up, phones answering,
//! refusing or staying silent, and time passing, the engine never panics, the router's
//! invariants hold after every step, and once every caller has hung up and the timers have run
//! no agent is left Reserved or OnCall and no call is left in the engine.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Step {
    Call,
    CallerHangsUp(usize),
    Phone { n: u16, code: u16 },
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Call),
        2 => (0usize..8).prop_map(Step::CallerHangsUp),
        3 => (1u16..=2, prop::sample::select(vec![180u16, 200, 486, 480, 603, 487]))
            .prop_map(|(n, code)| Step::Phone { n, code }),
        2 => (0u64..20).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_agent_is_left_reserved_or_on_call_after_any_interleaving(
        strategy in prop::sample::select(vec!["linear", "ring-all"]),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let mut h = Harness::new(strategy);
        h.register("1001", 1);
        h.register("1002", 2);
        let mut calls: Vec<(String, bool)> = Vec::new(); // (id, hung up)
        for step in steps {
            match step {
                Step::Call => {
                    let id = format!("p{}", calls.len());
                    h.trunk_invite("201", &id);
                    h.trunk_in_dialog(&id, "ACK", 1);
                    calls.push((id, false));
                }
                Step::CallerHangsUp(k) => {
                    if let Some((id, done)) = calls.get_mut(k).filter(|(_, done)| !*done) {
                        *done = true;
                        let id = id.clone();
                        h.trunk_in_dialog(&id, "BYE", 2);
                    }
                }
                Step::Phone { n, code } => {
                    if h.last_request_to(phone(n).remote, Method::Invite).is_some() {
                        let reason = if code == 200 { "OK" } else { "Whatever" };
                        h.phone_answers(n, code, reason);
                    }
                }
                Step::Wait(secs) => h.advance(Duration::from_secs(secs)),
            }
            prop_assert!(h.engine.router().check_invariants().is_ok());
        }
        for (id, done) in &mut calls {
            if !*done {
                *done = true;
                let id = id.clone();
                h.trunk_in_dialog(&id, "BYE", 2);
            }
        }
        h.advance(Duration::from_secs(120));
        prop_assert_eq!(h.engine.call_count(), 0);
        for agent in ["1001", "1002"] {
            let state = h.agent_state(agent);
            prop_assert!(
                !matches!(state, AgentState::Reserved { .. } | AgentState::OnCall { .. }),
                "{} left {:?}", agent, state
            );
        }
    }
}
