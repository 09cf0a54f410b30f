//! ACD routing decision latency at site scale: 5,000 agents, 2,000 queues, 2,000 waiting calls.
//!
//! A load harness, not a criterion bench: it builds one router at that size, then times each
//! input on its own (`handle_input` or `handle_timeout` plus draining the decisions) and prints
//! p50/p99/max per input kind. Between timed inputs, untimed ones keep the router at size:
//! 2,000 calls waiting, nearly every agent on a call.
//!
//! Shape of the site: 20 skills; each agent holds 3 at levels 1–5 and is a member of 4 random
//! queues (about 10 members per queue); half the queues require one skill at a level some member
//! holds, half take any member; strategies mixed (longest idle mostly, some round robin, fewest
//! calls, best skill).
//!
//! Run: `cargo bench -p switchboard-benches --bench acd_router`.

use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use switchboard_acd::*;
use switchboard_benches::percentiles;

const AGENTS: usize = 5_000;
const QUEUES: usize = 2_000;
const WAITING: usize = 2_000;
const SKILLS: usize = 20;
const QUEUES_PER_AGENT: usize = 4;
const SAMPLES: usize = 5_000;

struct Site {
    router: Router,
    now: Instant,
    rng: StdRng,
    next_call: u128,
    /// Agent names by index, and the call each is on (if any).
    agents: Vec<AgentName>,
    on_call: Vec<Option<CallId>>,
    offers: Vec<Offer>,
    /// Calls ended or abandoned.
    gone: usize,
}

impl Site {
    fn build() -> Self {
        let mut rng = StdRng::seed_from_u64(2026);
        let agent_names: Vec<AgentName> = (0..AGENTS).map(|i| format!("agent{i}").into()).collect();
        let mut agents = Vec::with_capacity(AGENTS);
        let mut skills_of = Vec::with_capacity(AGENTS);
        for name in &agent_names {
            let mut spec = AgentSpec::new(name.clone());
            let mut held = Vec::new();
            while held.len() < 3 {
                let s = rng.random_range(0..SKILLS);
                if !held.iter().any(|&(x, _)| x == s) {
                    held.push((s, rng.random_range(1..=5u8)));
                }
            }
            for &(s, level) in &held {
                spec = spec.with_skill(&format!("skill{s}"), level);
            }
            skills_of.push(held);
            agents.push(spec);
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); QUEUES];
        for a in 0..AGENTS {
            let mut mine = Vec::new();
            while mine.len() < QUEUES_PER_AGENT {
                let q = rng.random_range(0..QUEUES);
                if !mine.contains(&q) {
                    mine.push(q);
                    members[q].push(a);
                }
            }
        }
        let mut queues = Vec::with_capacity(QUEUES);
        for (q, mem) in members.iter().enumerate() {
            let mut spec = QueueSpec::new(format!("queue{q}"));
            spec.members = mem
                .iter()
                .map(|&a| QueueMember::from(agent_names[a].as_str()))
                .collect();
            spec.strategy = match q % 20 {
                0 | 1 => Strategy::RoundRobin,
                2 => Strategy::FewestCalls,
                3 => Strategy::BestSkill,
                _ => Strategy::LongestIdle,
            };
            // Half the queues need a skill one of their members holds, at that member's level.
            if q % 2 == 0
                && let Some(&a) = mem.first()
            {
                let (s, level) = skills_of[a][0];
                spec.requirement = Requirement::only(SkillExpr::skill(&format!("skill{s}"), level));
            }
            queues.push(spec);
        }
        #[allow(clippy::disallowed_methods)] // the bench is the shell: it reads the clock
        let now = Instant::now();
        // A wall clock off the 15-minute grid by a few milliseconds, so interval closes (timed on
        // their own below) do not land on the very instant of a ring timeout being timed.
        let wall = SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_254_400_007);
        let mut router = Router::new(
            now,
            wall,
            RouterOptions {
                seed: 1,
                ..RouterOptions::default()
            },
        );
        router
            .handle_input(now, RouterInput::Configure(ConfigUpdate { queues, agents }))
            .expect("valid site");
        let mut site = Self {
            router,
            now,
            rng,
            next_call: 1,
            agents: agent_names,
            on_call: vec![None; AGENTS],
            offers: Vec::new(),
            gone: 0,
        };
        for a in 0..AGENTS {
            let agent = site.agents[a].clone();
            site.input(RouterInput::AgentState {
                agent,
                state: RequestedState::Ready,
            });
        }
        // Calls arrive; every offer is answered at once, until 2,000 calls wait.
        while site.waiting() < WAITING {
            site.arrive();
            site.accept_all();
        }
        site
    }

    fn waiting(&self) -> usize {
        (self.next_call - 1) as usize
            - self.gone
            - self.on_call.iter().filter(|c| c.is_some()).count()
            - self.offers.len()
    }

    fn input(&mut self, input: RouterInput) {
        self.router
            .handle_input(self.now, input)
            .expect("harness inputs are valid");
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(d) = self.router.poll_output() {
            match d {
                Decision::Offer(o) => self.offers.push(o),
                Decision::CancelOffer { offer, .. } => self.offers.retain(|o| o.offer != offer),
                _ => {}
            }
        }
    }

    fn arrive(&mut self) -> CallId {
        let call = CallId(self.next_call);
        self.next_call += 1;
        let queue: QueueName = format!("queue{}", self.rng.random_range(0..QUEUES)).into();
        self.input(RouterInput::CallArrived {
            call,
            queue,
            priority: 0,
            requirement: None,
        });
        call
    }

    fn accept_all(&mut self) {
        while let Some(o) = self.offers.pop() {
            self.router
                .handle_input(self.now, RouterInput::OfferAccepted { offer: o.offer })
                .expect("offer outstanding");
            let a = self.agent_index(&o.agent);
            self.on_call[a] = Some(o.call);
            self.drain();
        }
    }

    fn agent_index(&self, name: &AgentName) -> usize {
        name.as_str()
            .trim_start_matches("agent")
            .parse()
            .expect("harness agent name")
    }

    /// A random agent on a call ends it and goes Not Ready; returns its index.
    fn free_one_agent(&mut self) -> usize {
        assert!(
            self.on_call.iter().any(Option::is_some),
            "some agent is on a call"
        );
        loop {
            let a = self.rng.random_range(0..AGENTS);
            let Some(call) = self.on_call[a] else {
                continue;
            };
            let agent = self.agents[a].clone();
            let state = Some(RequestedState::NotReady("bench".into()));
            self.input(RouterInput::AgentNextState { agent, state });
            self.input(RouterInput::CallEnded { call });
            self.on_call[a] = None;
            self.gone += 1;
            return a;
        }
    }
}

fn timed(samples: &mut Vec<Duration>, f: impl FnOnce()) {
    #[allow(clippy::disallowed_methods)] // the bench is the shell: it reads the clock
    let start = Instant::now();
    f();
    samples.push(start.elapsed());
}

fn report(kind: &str, samples: &mut [Duration]) {
    let p = percentiles(samples).expect("samples");
    println!(
        "{kind:<34} n={:<6} p50={:>7.2} µs  p99={:>7.2} µs  max={:>8.2} µs",
        p.count,
        p.p50.as_secs_f64() * 1e6,
        p.p99.as_secs_f64() * 1e6,
        p.max.as_secs_f64() * 1e6
    );
}

fn main() {
    #[allow(clippy::disallowed_methods)]
    let setup = Instant::now();
    let mut site = Site::build();
    println!(
        "site: {AGENTS} agents, {QUEUES} queues, {} calls waiting, {} agents on calls (setup {:.1} s)",
        site.waiting(),
        site.on_call.iter().filter(|c| c.is_some()).count(),
        setup.elapsed().as_secs_f64()
    );

    let (mut ready, mut arrived, mut timed_out, mut accepted, mut abandoned) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut ready_offered = Vec::new();
    // Until every kind has its samples (a freed agent finds no call it may take now and then).
    while timed_out.len() < SAMPLES && ready.len() < 4 * SAMPLES {
        // Agent ready: a freed agent becomes Ready and takes the best call of its 4 queues.
        let a = site.free_one_agent();
        let agent = site.agents[a].clone();
        timed(&mut ready, || {
            site.router
                .handle_input(
                    site.now,
                    RouterInput::AgentState {
                        agent,
                        state: RequestedState::Ready,
                    },
                )
                .expect("known agent");
            site.drain();
        });
        if !site.offers.is_empty() {
            ready_offered.extend(ready.last().copied());
        }
        // Offer timed out: nobody answers; RONA returns the call to its place and looks for
        // another agent. Anything due earlier (none in this harness) fires untimed first.
        if let Some(offer) = site.offers.last().cloned() {
            while let Some(t) = site.router.poll_timeout().filter(|&t| t < offer.deadline) {
                site.now = t;
                site.router.handle_timeout(t);
                site.drain();
            }
            site.now = offer.deadline;
            let now = site.now;
            timed(&mut timed_out, || {
                site.router.handle_timeout(now);
                site.drain();
            });
        }
        // The RONA'd agent comes back and answers: offer accepted.
        let agent = site.agents[a].clone();
        site.input(RouterInput::AgentState {
            agent,
            state: RequestedState::Ready,
        });
        if let Some(o) = site.offers.pop() {
            let idx = site.agent_index(&o.agent);
            timed(&mut accepted, || {
                site.router
                    .handle_input(site.now, RouterInput::OfferAccepted { offer: o.offer })
                    .expect("outstanding");
                site.drain();
            });
            site.on_call[idx] = Some(o.call);
        }
        site.accept_all();
        // Call arrived: a new call in a random queue (it waits unless an eligible agent is
        // Ready), then it abandons (timed too) so the line keeps its size.
        let call = CallId(site.next_call);
        site.next_call += 1;
        let queue: QueueName = format!("queue{}", site.rng.random_range(0..QUEUES)).into();
        timed(&mut arrived, || {
            site.router
                .handle_input(
                    site.now,
                    RouterInput::CallArrived {
                        call,
                        queue,
                        priority: 0,
                        requirement: None,
                    },
                )
                .expect("known queue");
            site.drain();
        });
        if site.offers.is_empty() {
            timed(&mut abandoned, || {
                site.router
                    .handle_input(site.now, RouterInput::CallAbandoned { call })
                    .expect("waiting call");
                site.drain();
            });
            site.gone += 1;
        } else {
            // A Ready agent took it: one more agent on a call.
            site.accept_all();
        }
        // Refill the line to its size (freed agents took calls from it).
        while site.waiting() < WAITING {
            site.arrive();
            site.accept_all();
        }
    }
    println!(
        "site after the run: {} calls waiting",
        site.router
            .queue_names()
            .map(|q| site
                .router
                .queue_stats(q.as_str(), site.now)
                .map_or(0, |s| s.waiting))
            .sum::<usize>()
    );
    report("agent ready (all)", &mut ready);
    report("agent ready, offered a call", &mut ready_offered);
    report("call arrived", &mut arrived);
    report("offer timed out (RONA, requeue)", &mut timed_out);
    report("offer accepted", &mut accepted);
    report("call abandoned", &mut abandoned);

    // Interval close: one report per queue (2,000 decisions), every 15 minutes.
    let mut closes = Vec::new();
    for _ in 0..20 {
        let Some(next) = site.router.poll_timeout() else {
            break;
        };
        site.now = next;
        let now = site.now;
        timed(&mut closes, || {
            site.router.handle_timeout(now);
            site.drain();
        });
    }
    report("interval close (2,000 queue reports)", &mut closes);
}
