//! EWT accuracy: the router's per-call estimate against Asterisk's, on the same simulated calls.
//!
//! A discrete-event simulation drives a real `Router`: Poisson arrivals, agents that answer each
//! offer after 2–6 s, random handle times (exponential or lognormal), optionally callers who
//! abandon (exponential patience) and shift changes that take agents away for a while. For each
//! caller who has to queue, three predictions are taken at the moment it queues:
//!
//! - ours: the `ewt` in the router's `Queued` decision (position, eligible staffed agents, their
//!   elapsed work against recent handle times, answer delay; see `switchboard_acd::ewt`);
//! - Asterisk: what `app_queue.c` announces to a caller who has just joined, its queue `holdtime`
//!   (`say_position`: `holdtime - (now - qe->start)`, with `now - start` = 0 at join), kept by
//!   `recalc_holdtime` as `holdtime = (3·old + wait) / 4` in whole seconds at each connect, the
//!   first sample taken as is while `callscompleted + callsabandoned == 0`;
//! - the "position × holdtime / agents" reading of the same average, scaled by the caller's
//!   position and the staffed agents.
//!
//! The error is |predicted − actual wait| for callers answered; the mean is printed per scenario.
//!
//! Run: `cargo bench -p switchboard-benches --bench ewt_accuracy`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use switchboard_acd::*;

const CALLS: usize = 20_000;

#[derive(Clone, Copy)]
enum Handle {
    Exponential { mean: f64 },
    LogNormal { mean: f64, cv: f64 },
}

struct Scenario {
    name: &'static str,
    agents: usize,
    load: f64,
    handle: Handle,
    patience: Option<f64>,
    /// Every `.0` seconds, `.1` agents go Not Ready for `.2` seconds.
    shifts: Option<(f64, usize, f64)>,
}

impl Handle {
    fn mean(self) -> f64 {
        match self {
            Handle::Exponential { mean } | Handle::LogNormal { mean, .. } => mean,
        }
    }

    fn sample(self, rng: &mut StdRng) -> f64 {
        match self {
            Handle::Exponential { mean } => exponential(rng, mean),
            Handle::LogNormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                (mu + sigma2.sqrt() * normal(rng)).exp()
            }
        }
    }
}

fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let (u1, u2) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival,
    Accept(OfferId, CallId),
    End(CallId),
    Abandon(CallId),
    Shift { back: bool },
}

#[derive(Default)]
struct Prediction {
    ours: Option<f64>,
    asterisk: f64,
    scaled: f64,
}

#[derive(Default)]
struct Errors {
    n: usize,
    ours: f64,
    asterisk: f64,
    scaled: f64,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn run(s: &Scenario, seed: u64) -> (Errors, Counters) {
    let mut rng = StdRng::seed_from_u64(seed);
    let names: Vec<String> = (0..s.agents).map(|i| format!("a{i}")).collect();
    let mut queue = QueueSpec::new("q").with_members(names.iter().map(String::as_str));
    queue.ring_timeout = Duration::from_secs(30);
    queue.default_handle_time = Duration::from_secs_f64(s.handle.mean());
    let config = ConfigUpdate {
        queues: vec![queue],
        agents: names.iter().map(|n| AgentSpec::new(n.as_str())).collect(),
    };
    #[allow(clippy::disallowed_methods)] // the bench is the shell: one origin, then simulated time
    let t0 = Instant::now();
    let mut router = Router::new(t0, SystemTime::UNIX_EPOCH, RouterOptions::default());
    router
        .handle_input(t0, RouterInput::Configure(config))
        .expect("valid");
    for n in &names {
        router
            .handle_input(
                t0,
                RouterInput::AgentState {
                    agent: n.as_str().into(),
                    state: RequestedState::Ready,
                },
            )
            .expect("agent");
    }
    while router.poll_output().is_some() {}

    let rate = s.load * s.agents as f64 / s.handle.mean();
    let mut events: BinaryHeap<Reverse<(Duration, u64, Event)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, at: Duration, e: Event| {
        seq += 1;
        events.push(Reverse((at, seq, e)));
    };
    push(&mut events, Duration::ZERO, Event::Arrival);
    if let Some((every, _, _)) = s.shifts {
        push(
            &mut events,
            Duration::from_secs_f64(every),
            Event::Shift { back: false },
        );
    }
    let (mut arrivals, mut next_call) = (0usize, 1u128);
    let mut arrived_at: HashMap<CallId, Duration> = HashMap::new();
    let mut predicted: HashMap<CallId, Prediction> = HashMap::new();
    let mut answered: HashMap<CallId, bool> = HashMap::new();
    // Asterisk's queue state.
    let (mut holdtime, mut completed, mut abandoned) = (0i64, 0u64, 0u64);
    let mut errors = Errors::default();
    let mut off_shift: Vec<usize> = Vec::new();

    loop {
        let next_event = events.peek().map(|Reverse((at, _, _))| *at);
        let next_timer = router.poll_timeout().map(|t| t - t0);
        let (now, event) = match (next_event, next_timer) {
            (None, _) => break,
            (Some(e), Some(t)) if t < e => {
                router.handle_timeout(t0 + t);
                (t, None)
            }
            (Some(_), _) => {
                let Some(Reverse((at, _, e))) = events.pop() else {
                    break;
                };
                (at, Some(e))
            }
        };
        let at = t0 + now;
        match event {
            None => {}
            Some(Event::Arrival) => {
                let call = CallId(next_call);
                next_call += 1;
                arrivals += 1;
                arrived_at.insert(call, now);
                router
                    .handle_input(
                        at,
                        RouterInput::CallArrived {
                            call,
                            queue: "q".into(),
                            priority: 0,
                            requirement: None,
                        },
                    )
                    .expect("arrival");
                if let Some(mean) = s.patience {
                    push(
                        &mut events,
                        now + Duration::from_secs_f64(exponential(&mut rng, mean)),
                        Event::Abandon(call),
                    );
                }
                if arrivals < CALLS {
                    push(
                        &mut events,
                        now + Duration::from_secs_f64(exponential(&mut rng, 1.0 / rate)),
                        Event::Arrival,
                    );
                }
            }
            Some(Event::Accept(offer, call))
                if router
                    .handle_input(at, RouterInput::OfferAccepted { offer })
                    .is_ok() =>
            {
                {
                    answered.insert(call, true);
                    let wait = secs(now - arrived_at[&call]);
                    // recalc_holdtime, in whole seconds as app_queue keeps it.
                    let sample = wait as i64;
                    holdtime = if completed + abandoned == 0 {
                        sample
                    } else {
                        (3 * holdtime + sample) >> 2
                    };
                    if let Some(p) = predicted.remove(&call)
                        && let Some(ours) = p.ours
                    {
                        errors.n += 1;
                        errors.ours += (ours - wait).abs();
                        errors.asterisk += (p.asterisk - wait).abs();
                        errors.scaled += (p.scaled - wait).abs();
                    }
                    push(
                        &mut events,
                        now + Duration::from_secs_f64(s.handle.sample(&mut rng)),
                        Event::End(call),
                    );
                }
            }
            Some(Event::End(call)) => {
                router
                    .handle_input(at, RouterInput::CallEnded { call })
                    .expect("connected call ends");
                completed += 1;
            }
            Some(Event::Abandon(call))
                if !answered.contains_key(&call)
                    && router
                        .handle_input(at, RouterInput::CallAbandoned { call })
                        .is_ok() =>
            {
                abandoned += 1;
                predicted.remove(&call);
            }
            // A stale accept (the caller had hung up) or an abandon after the answer.
            Some(Event::Accept(..) | Event::Abandon(_)) => {}
            Some(Event::Shift { back }) => {
                let Some((every, count, length)) = s.shifts else {
                    continue;
                };
                if back {
                    for a in off_shift.drain(..) {
                        let agent: AgentName = names[a].as_str().into();
                        router
                            .handle_input(
                                at,
                                RouterInput::AgentNextState {
                                    agent,
                                    state: Some(RequestedState::Ready),
                                },
                            )
                            .expect("agent");
                    }
                    push(
                        &mut events,
                        now + Duration::from_secs_f64(every - length),
                        Event::Shift { back: false },
                    );
                } else {
                    for (a, name) in names.iter().enumerate().take(count) {
                        let agent: AgentName = name.as_str().into();
                        // Not Ready after the current call, as a break is taken.
                        router
                            .handle_input(
                                at,
                                RouterInput::AgentNextState {
                                    agent,
                                    state: Some(RequestedState::NotReady("break".into())),
                                },
                            )
                            .expect("agent");
                        off_shift.push(a);
                    }
                    push(
                        &mut events,
                        now + Duration::from_secs_f64(length),
                        Event::Shift { back: true },
                    );
                }
            }
        }
        while let Some(d) = router.poll_output() {
            match d {
                Decision::Offer(o) => {
                    let delay = rng.random_range(2.0..6.0);
                    push(
                        &mut events,
                        now + Duration::from_secs_f64(delay),
                        Event::Accept(o.offer, o.call),
                    );
                }
                Decision::Queued {
                    call,
                    position,
                    ewt,
                    ..
                } => {
                    let staffed = router.queue_stats("q", at).map_or(0, |st| {
                        st.agents.ready + st.agents.reserved + st.agents.on_call + st.agents.wrap_up
                    });
                    predicted.insert(
                        call,
                        Prediction {
                            ours: ewt.map(secs),
                            asterisk: holdtime as f64,
                            scaled: position as f64 * holdtime as f64 / staffed.max(1) as f64,
                        },
                    );
                }
                _ => {}
            }
        }
        if arrivals >= CALLS
            && events
                .iter()
                .all(|Reverse((_, _, e))| matches!(e, Event::Shift { .. }))
        {
            break;
        }
    }
    let totals = router
        .queue_stats("q", t0)
        .map(|s| s.totals)
        .unwrap_or_default();
    (errors, totals)
}

fn main() {
    let scenarios = [
        Scenario {
            name: "5 agents, load 0.85, exp 180 s",
            agents: 5,
            load: 0.85,
            handle: Handle::Exponential { mean: 180.0 },
            patience: None,
            shifts: None,
        },
        Scenario {
            name: "5 agents, load 0.95, lognormal 180 s cv 1",
            agents: 5,
            load: 0.95,
            handle: Handle::LogNormal {
                mean: 180.0,
                cv: 1.0,
            },
            patience: None,
            shifts: None,
        },
        Scenario {
            name: "20 agents, load 0.90, exp 240 s, abandons",
            agents: 20,
            load: 0.90,
            handle: Handle::Exponential { mean: 240.0 },
            patience: Some(300.0),
            shifts: None,
        },
        Scenario {
            name: "20 agents, load 0.95, lognormal 240 s cv 1.2, abandons",
            agents: 20,
            load: 0.95,
            handle: Handle::LogNormal {
                mean: 240.0,
                cv: 1.2,
            },
            patience: Some(600.0),
            shifts: None,
        },
        Scenario {
            name: "50 agents, load 0.97, exp 300 s",
            agents: 50,
            load: 0.97,
            handle: Handle::Exponential { mean: 300.0 },
            patience: None,
            shifts: None,
        },
        Scenario {
            name: "20 agents, load 0.80, exp 180 s, 6 on break 30 min of every 2 h",
            agents: 20,
            load: 0.80,
            handle: Handle::Exponential { mean: 180.0 },
            patience: Some(600.0),
            shifts: Some((7200.0, 6, 1800.0)),
        },
    ];
    println!(
        "{:<62} {:>7} {:>10} {:>10} {:>14} {:>12}",
        "scenario", "queued", "ours MAE", "Asterisk", "pos×hold/ag", "router stat"
    );
    for (i, s) in scenarios.iter().enumerate() {
        let (e, totals) = run(s, 100 + i as u64);
        let n = e.n.max(1) as f64;
        println!(
            "{:<62} {:>7} {:>9.1}s {:>9.1}s {:>13.1}s {:>11.1}s",
            s.name,
            e.n,
            e.ours / n,
            e.asterisk / n,
            e.scaled / n,
            totals.ewt_mean_abs_error().map_or(f64::NAN, secs),
        );
    }
    println!("(MAE over callers who queued and were answered; \"router stat\" is the router's own");
    println!(" ewt_mean_abs_error over every answered call, those offered at once included)");
}
