//! The four router invariants, property-tested over random interleavings of inputs.
//!
//! A script of inputs (arrivals, abandons, offer outcomes, call ends, agent state changes,
//! callbacks, priority changes, reconfigurations and time passing) runs against a router on a
//! simulated clock. After every step the harness checks:
//! 1. the router's brute-force audit (`check_invariants`): no waiting call with a Ready eligible
//!    agent, indexes consistent with records;
//! 2. from the decisions alone: no agent with two offers, several offers per call only in
//!    ring-all, and after an accept the call's other offers are all cancelled (one winner);
//! 3. every call is where a replay of inputs and decisions puts it, and every counter equals the
//!    replay's count; a refused input emits nothing;
//! 4. each queue's line is in (priority, original enqueue time, arrival) order, whatever RONA,
//!    widening or callbacks did, and no offer skips an earlier call of the same priority and
//!    requirement in the same queue.
mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::script::*;
use common::*;
use proptest::prelude::*;
use switchboard_acd::*;

#[derive(Debug, Clone)]
struct ModelCall {
    queue: String,
    preset: u8,
    priority: i32,
    enqueued_at: Instant,
    seq: u64,
    callback: bool,
    connected: bool,
}

/// What a replay of inputs and decisions says.
struct Model {
    variant: bool,
    next_call: u128,
    calls: BTreeMap<u128, ModelCall>,
    gone: Vec<u128>,
    offers: BTreeMap<OfferId, (CallId, AgentName)>,
    counters: HashMap<String, Counters>,
}

impl Model {
    fn count(&mut self, queue: &str, f: impl FnOnce(&mut Counters)) {
        f(self.counters.entry(queue.to_string()).or_default());
    }

    fn is_ring_all(&self, queue: &str) -> bool {
        queue == "q1" && !self.variant
    }

    fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
        (!items.is_empty()).then(|| items[i % items.len()].clone())
    }

    fn remove_call(&mut self, id: u128) {
        self.calls.remove(&id);
        self.gone.push(id);
    }
}

/// What an accepted input does to the model.
type OnOk = Box<dyn FnOnce(&mut Model, &Harness)>;

fn run(script: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = Harness::new(config(false));
    let mut m = Model {
        variant: false,
        next_call: 1,
        calls: BTreeMap::new(),
        gone: Vec::new(),
        offers: BTreeMap::new(),
        counters: HashMap::new(),
    };
    let mut seq = 0u64;
    for op in script {
        h.take();
        let offers: Vec<OfferId> = m.offers.keys().copied().collect();
        let waiting_ids: Vec<u128> = m
            .calls
            .iter()
            .filter(|(_, c)| !c.connected)
            .map(|(id, _)| *id)
            .collect();
        let connected: Vec<u128> = m
            .calls
            .iter()
            .filter(|(_, c)| c.connected)
            .map(|(id, _)| *id)
            .collect();
        let any_ids: Vec<u128> = m
            .calls
            .keys()
            .copied()
            .chain(m.gone.iter().copied())
            .collect();
        // Input, and its effect on the model when accepted.
        let (input, on_ok): (RouterInput, OnOk) = match op {
            Op::Arrive {
                queue,
                priority,
                preset,
            } => {
                let id = m.next_call;
                m.next_call += 1;
                let q = QUEUES[queue].to_string();
                let now = h.now;
                seq += 1;
                let s = seq;
                (
                    RouterInput::CallArrived {
                        call: CallId(id),
                        queue: q.as_str().into(),
                        priority,
                        requirement: requirement(preset),
                    },
                    Box::new(move |m: &mut Model, _| {
                        m.count(&q, |c| c.offered += 1);
                        m.calls.insert(
                            id,
                            ModelCall {
                                queue: q,
                                preset,
                                priority,
                                enqueued_at: now,
                                seq: s,
                                callback: false,
                                connected: false,
                            },
                        );
                    }),
                )
            }
            Op::Abandon(i) => {
                let Some(id) = Model::pick(&any_ids, i) else {
                    continue;
                };
                (
                    RouterInput::CallAbandoned { call: CallId(id) },
                    Box::new(move |m: &mut Model, _: &Harness| {
                        let c = m.calls.get(&id).cloned().expect("abandoned call is known");
                        if c.callback {
                            m.count(&c.queue, |x| x.callbacks_cancelled += 1);
                        } else {
                            m.count(&c.queue, |x| x.abandoned += 1);
                        }
                        m.remove_call(id);
                    }),
                )
            }
            Op::Accept(i) => {
                let Some(o) = Model::pick(&offers, i) else {
                    continue;
                };
                (
                    RouterInput::OfferAccepted { offer: o },
                    Box::new(move |m: &mut Model, _| {
                        let (call, _) = m.offers.remove(&o).expect("accepted offer is known");
                        let c = m.calls.get_mut(&call.0).expect("offered call is known");
                        c.connected = true;
                        let (q, cb) = (c.queue.clone(), c.callback);
                        if !cb {
                            m.count(&q, |x| x.answered += 1);
                        }
                    }),
                )
            }
            Op::Reject(i) | Op::Fail(i) => {
                let Some(o) = Model::pick(&offers, i) else {
                    continue;
                };
                let reject = matches!(op, Op::Reject(_));
                let input = if reject {
                    RouterInput::OfferRejected { offer: o }
                } else {
                    RouterInput::OfferFailed { offer: o }
                };
                (
                    input,
                    Box::new(move |m: &mut Model, _| {
                        let (call, _) = m.offers.remove(&o).expect("offer is known");
                        if reject {
                            let q = m.calls[&call.0].queue.clone();
                            m.count(&q, |x| x.ronas += 1);
                        }
                    }),
                )
            }
            Op::End(i) => {
                let Some(id) = Model::pick(&connected, i).or_else(|| Model::pick(&waiting_ids, i))
                else {
                    continue;
                };
                (
                    RouterInput::CallEnded { call: CallId(id) },
                    Box::new(move |m: &mut Model, _| {
                        let c = m.calls[&id].clone();
                        if c.callback {
                            m.count(&c.queue, |x| x.callbacks_completed += 1);
                        }
                        m.remove_call(id);
                    }),
                )
            }
            Op::State { agent, state } => (
                RouterInput::AgentState {
                    agent: AGENTS[agent].into(),
                    state: requested(state),
                },
                Box::new(|_: &mut Model, _: &Harness| {}),
            ),
            Op::NextState { agent, state } => (
                RouterInput::AgentNextState {
                    agent: AGENTS[agent].into(),
                    state: (state != 3).then(|| requested(state)),
                },
                Box::new(|_: &mut Model, _: &Harness| {}),
            ),
            Op::ExtendWrapUp { agent } => (
                RouterInput::ExtendWrapUp {
                    agent: AGENTS[agent].into(),
                    by: secs(5),
                },
                Box::new(|_: &mut Model, _: &Harness| {}),
            ),
            Op::Priority { pick, priority } => {
                let Some(id) = Model::pick(&waiting_ids, pick) else {
                    continue;
                };
                (
                    RouterInput::SetPriority {
                        call: CallId(id),
                        priority,
                    },
                    Box::new(move |m: &mut Model, _| {
                        if let Some(c) = m.calls.get_mut(&id) {
                            c.priority = priority;
                        }
                    }),
                )
            }
            Op::Callback(i) => {
                let Some(id) = Model::pick(&waiting_ids, i) else {
                    continue;
                };
                (
                    RouterInput::CallbackRequested { call: CallId(id) },
                    Box::new(move |m: &mut Model, _| {
                        let c = m.calls.get_mut(&id).expect("known call");
                        if !c.callback {
                            c.callback = true;
                            let q = c.queue.clone();
                            m.count(&q, |x| x.callbacks_requested += 1);
                        }
                    }),
                )
            }
            Op::CallbackUnreached(i) => {
                let callbacks: Vec<u128> = connected
                    .iter()
                    .copied()
                    .filter(|id| m.calls[id].callback)
                    .collect();
                let Some(id) = Model::pick(&callbacks, i).or_else(|| Model::pick(&connected, i))
                else {
                    continue;
                };
                (
                    RouterInput::CallbackUnreached { call: CallId(id) },
                    Box::new(move |m: &mut Model, _| {
                        if let Some(c) = m.calls.get_mut(&id) {
                            c.connected = false;
                        }
                    }),
                )
            }
            Op::Reconfigure => {
                let variant = !m.variant;
                (
                    RouterInput::Configure(config(variant)),
                    Box::new(move |m: &mut Model, _| m.variant = variant),
                )
            }
            Op::Advance(s) => {
                // One deadline at a time, checking after each.
                let end = h.now + Duration::from_secs(s);
                loop {
                    let before = lines(&h);
                    if !h.fire_next(end) {
                        break;
                    }
                    let out = h.take();
                    apply_decisions(&mut m, &h, &out)?;
                    check(&m, &h, &out, &before)?;
                }
                h.now = end;
                continue;
            }
        };
        let before = lines(&h);
        let result = h.input(input);
        let out = h.take();
        match result {
            Ok(()) => on_ok(&mut m, &h),
            Err(e) => {
                prop_assert!(out.is_empty(), "refused input {e} emitted {out:?}");
                continue;
            }
        }
        apply_decisions(&mut m, &h, &out)?;
        check(&m, &h, &out, &before)?;
    }
    Ok(())
}

/// Each queue's waiting calls, with their requirement step.
fn lines(h: &Harness) -> HashMap<&'static str, Vec<(CallId, usize)>> {
    QUEUES
        .iter()
        .map(|q| {
            let line = h.router.waiting_calls(q);
            (
                *q,
                line.into_iter()
                    .filter_map(|c| Some((c, h.router.call(c)?.step)))
                    .collect(),
            )
        })
        .collect()
}

/// Replays the decisions into the model, checking invariant 2 on the way.
fn apply_decisions(m: &mut Model, _h: &Harness, out: &[Decision]) -> Result<(), TestCaseError> {
    for d in out {
        match d {
            Decision::Offer(o) => {
                prop_assert!(
                    !m.offers.values().any(|(_, a)| *a == o.agent),
                    "{} got a second offer",
                    o.agent
                );
                let call = m.calls.get(&o.call.0);
                prop_assert!(call.is_some(), "offer for unknown call {}", o.call);
                let queue = call.map(|c| c.queue.clone()).unwrap_or_default();
                prop_assert_eq!(queue.as_str(), o.queue.as_str());
                if m.offers.values().any(|(c, _)| *c == o.call) {
                    prop_assert!(
                        m.is_ring_all(&queue),
                        "call {} offered twice outside ring-all",
                        o.call
                    );
                }
                m.offers.insert(o.offer, (o.call, o.agent.clone()));
            }
            Decision::CancelOffer {
                offer,
                reason,
                call,
                ..
            } => {
                prop_assert!(
                    m.offers.remove(offer).is_some(),
                    "cancel of unknown {offer}"
                );
                if *reason == CancelReason::RingTimeout {
                    let q = m.calls[&call.0].queue.clone();
                    m.count(&q, |x| x.ronas += 1);
                }
            }
            Decision::Overflowed { call, from, to } => {
                m.count(from.as_str(), |x| x.overflowed += 1);
                m.count(to.as_str(), |x| x.offered += 1);
                if let Some(c) = m.calls.get_mut(&call.0) {
                    c.queue = to.to_string();
                }
            }
            Decision::Leave {
                call,
                queue,
                reason,
                ..
            } => {
                prop_assert!(m.calls.contains_key(&call.0), "unknown call {} left", call);
                if *reason == LeaveReason::CallbackAttemptsExhausted {
                    m.count(queue.as_str(), |x| x.callbacks_failed += 1);
                } else {
                    m.count(queue.as_str(), |x| x.exited += 1);
                }
                m.remove_call(call.0);
            }
            _ => {}
        }
    }
    Ok(())
}

fn check(
    m: &Model,
    h: &Harness,
    out: &[Decision],
    before: &HashMap<&'static str, Vec<(CallId, usize)>>,
) -> Result<(), TestCaseError> {
    // 1 (and the index half of 3): the router's own brute-force audit.
    if let Err(v) = h.router.check_invariants() {
        return Err(TestCaseError::fail(v.0));
    }
    // 2: one winner. An accepted call has no other offer left.
    for (id, c) in &m.calls {
        let offered: Vec<&AgentName> = m
            .offers
            .values()
            .filter(|(call, _)| call.0 == *id)
            .map(|(_, a)| a)
            .collect();
        if c.connected {
            prop_assert!(
                offered.is_empty(),
                "connected call {id} still rings {offered:?}"
            );
        }
    }
    // 3: every call where the replay says.
    for (id, c) in &m.calls {
        let view = h.router.call(CallId(*id));
        prop_assert!(view.is_some(), "call {id} vanished");
        let Some(view) = view else { continue };
        prop_assert_eq!(view.queue.as_str(), c.queue.as_str());
        let mut rung: Vec<AgentName> = m
            .offers
            .values()
            .filter(|(call, _)| call.0 == *id)
            .map(|(_, a)| a.clone())
            .collect();
        rung.sort();
        match view.place {
            CallPlace::Connected { .. } => {
                prop_assert!(c.connected, "call {id} connected unexpectedly")
            }
            CallPlace::Offered { mut agents } => {
                agents.sort();
                prop_assert_eq!(agents, rung);
            }
            CallPlace::Waiting | CallPlace::CallbackScheduled { .. } => {
                prop_assert!(
                    !c.connected && rung.is_empty(),
                    "call {id} should be connected or ringing"
                );
            }
        }
    }
    for id in &m.gone {
        prop_assert!(
            h.router.call(CallId(*id)).is_none(),
            "call {id} should be gone"
        );
    }
    for q in h.router.queue_names() {
        let t = h
            .router
            .queue_stats(q.as_str(), h.now)
            .expect("listed queue")
            .totals;
        let e = m.counters.get(q.as_str()).copied().unwrap_or_default();
        let got = (
            t.offered,
            t.answered,
            t.abandoned,
            t.exited,
            t.overflowed,
            t.ronas,
        );
        let want = (
            e.offered,
            e.answered,
            e.abandoned,
            e.exited,
            e.overflowed,
            e.ronas,
        );
        prop_assert_eq!(
            got,
            want,
            "queue {} (offered, answered, abandoned, exited, overflowed, ronas)",
            q
        );
        let got = (
            t.callbacks_requested,
            t.callbacks_completed,
            t.callbacks_failed,
            t.callbacks_cancelled,
        );
        let want = (
            e.callbacks_requested,
            e.callbacks_completed,
            e.callbacks_failed,
            e.callbacks_cancelled,
        );
        prop_assert_eq!(got, want, "queue {} callbacks", q);
    }
    // 4: lines in (priority, original enqueue, arrival) order...
    let order = |id: &CallId| {
        let c = &m.calls[&id.0];
        (std::cmp::Reverse(c.priority), c.enqueued_at, c.seq)
    };
    for q in QUEUES {
        let line = h.router.waiting_calls(q);
        let mut sorted = line.clone();
        sorted.sort_by_key(order);
        prop_assert_eq!(&line, &sorted, "line of {} out of order", q);
    }
    // ...and no offer skipped an earlier call of the same priority and requirement that waited
    // in that queue before the step and still does.
    for d in out {
        let Decision::Offer(o) = d else { continue };
        let Some(c) = m.calls.get(&o.call.0) else {
            continue;
        };
        let Some(cv) = h.router.call(o.call) else {
            continue;
        };
        if !matches!(
            cv.place,
            CallPlace::Offered { .. } | CallPlace::Connected { .. }
        ) {
            continue;
        }
        let was_waiting = before.get(c.queue.as_str()).cloned().unwrap_or_default();
        for other in h.router.waiting_calls(&c.queue) {
            // Only calls that waited under this same requirement step through the whole step.
            let Some(&(_, step_before)) = was_waiting.iter().find(|(w, _)| *w == other) else {
                continue;
            };
            let (oc, ov) = (
                &m.calls[&other.0],
                h.router.call(other).expect("waiting call"),
            );
            let same = oc.priority == c.priority
                && oc.preset == c.preset
                && ov.step == cv.step
                && step_before == ov.step;
            prop_assert!(
                !(same && (oc.enqueued_at, oc.seq) < (c.enqueued_at, c.seq)),
                "call {} offered while earlier equal call {} waits in {}",
                o.call,
                other,
                c.queue
            );
        }
    }
    Ok(())
}

proptest! {
    // 3,000 scripts of up to 80 inputs: about 10 s in a debug build.
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn router_invariants_hold_over_random_interleavings(script in prop::collection::vec(op(), 1..80)) {
        run(script)?;
    }
}

/// Runs a script without a model, answering picks from what the decisions said, and returns
/// every decision.
fn decisions_of(script: &[Op], t0: Instant, seed: u64) -> Vec<Decision> {
    let mut h = Harness::starting_at(config(false), seed, t0);
    let (mut log, mut offers, mut calls, mut variant) = (Vec::new(), Vec::new(), Vec::new(), false);
    for op in script {
        let input = match *op {
            Op::Arrive {
                queue,
                priority,
                preset,
            } => {
                let call = CallId(calls.len() as u128 + 1);
                calls.push(call);
                RouterInput::CallArrived {
                    call,
                    queue: QUEUES[queue].into(),
                    priority,
                    requirement: requirement(preset),
                }
            }
            Op::Accept(i) | Op::Reject(i) | Op::Fail(i) if !offers.is_empty() => {
                let offer = offers[i % offers.len()];
                match op {
                    Op::Accept(_) => RouterInput::OfferAccepted { offer },
                    Op::Reject(_) => RouterInput::OfferRejected { offer },
                    _ => RouterInput::OfferFailed { offer },
                }
            }
            Op::Abandon(i) | Op::End(i) | Op::Callback(i) | Op::CallbackUnreached(i)
                if !calls.is_empty() =>
            {
                let call = calls[i % calls.len()];
                match op {
                    Op::Abandon(_) => RouterInput::CallAbandoned { call },
                    Op::End(_) => RouterInput::CallEnded { call },
                    Op::Callback(_) => RouterInput::CallbackRequested { call },
                    _ => RouterInput::CallbackUnreached { call },
                }
            }
            Op::State { agent, state } => RouterInput::AgentState {
                agent: AGENTS[agent].into(),
                state: requested(state),
            },
            Op::Reconfigure => {
                variant = !variant;
                RouterInput::Configure(config(variant))
            }
            Op::Advance(s) => {
                h.advance(Duration::from_secs(s));
                log.extend(h.take());
                continue;
            }
            _ => continue,
        };
        let _ = h.input(input);
        for d in h.take() {
            if let Decision::Offer(o) = &d {
                offers.push(o.offer);
            }
            log.push(d);
        }
    }
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Same seed, same inputs at the same instants: the same decisions, in the same order (no
    /// hash order, no clock, no unseeded randomness leaks into routing).
    #[test]
    fn routing_is_deterministic_for_a_seed(script in prop::collection::vec(op(), 1..60), seed in 0..4u64) {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        prop_assert_eq!(decisions_of(&script, t0, seed), decisions_of(&script, t0, seed));
    }
}
