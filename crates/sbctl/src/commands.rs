//! The `agent`, `call` and `watch` commands.

use switchboard_api::pb;
use switchboard_api::pb::subscribe_response::Kind;

use crate::{AgentCmd, CallCmd, Ctx, Failure, WatchArgs, render};

pub(crate) async fn agent(ctx: &Ctx, cmd: AgentCmd) -> Result<(), Failure> {
    let mut agents = ctx.agents();
    let when = |after: bool| {
        if after {
            pb::StateChangeWhen::AfterCurrentWork as i32
        } else {
            pb::StateChangeWhen::Immediate as i32
        }
    };
    let agent = match cmd {
        AgentCmd::List => {
            let list = agents
                .list_agents(pb::ListAgentsRequest::default())
                .await?
                .into_inner()
                .agents;
            return Ok(ctx.print("Agent", &list, || render::agents_table(&list))?);
        }
        AgentCmd::Show { id } => agents
            .get_agent(pb::GetAgentRequest { name: id })
            .await?
            .into_inner(),
        AgentCmd::Ready { id, after_work } => agents
            .set_agent_state(pb::SetAgentStateRequest {
                agent: id,
                state: pb::AgentState::Ready as i32,
                when: when(after_work),
                ..Default::default()
            })
            .await?
            .into_inner(),
        AgentCmd::Pause {
            id,
            reason,
            after_work,
        } => agents
            .set_agent_state(pb::SetAgentStateRequest {
                agent: id,
                state: pb::AgentState::NotReady as i32,
                reason_code: reason,
                when: when(after_work),
                ..Default::default()
            })
            .await?
            .into_inner(),
        AgentCmd::Logout { id, reason, force } => agents
            .logout_agent(pb::LogoutAgentRequest {
                agent: id,
                reason_code: reason,
                force,
                ..Default::default()
            })
            .await?
            .into_inner(),
    };
    Ok(ctx.print("Agent", std::slice::from_ref(&agent), || {
        render::agent_show(&agent)
    })?)
}

fn accepted_line(a: &pb::CommandAccepted) -> String {
    let mut line = format!("accepted request {} call {}", a.request_id, a.call_id);
    if !a.leg_id.is_empty() {
        line.push_str(&format!(" leg {}", a.leg_id));
    }
    line.push('\n');
    line
}

pub(crate) async fn call(ctx: &Ctx, cmd: CallCmd) -> Result<(), Failure> {
    let mut calls = ctx.calls();
    let accepted = match cmd {
        CallCmd::List { queue, agent } => {
            let list = calls
                .list_calls(pb::ListCallsRequest {
                    queue,
                    agent,
                    page_size: 1000,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .calls;
            return Ok(ctx.print("Call", &list, || render::calls_table(&list))?);
        }
        CallCmd::Show { id } => {
            let c = calls
                .get_call(pb::GetCallRequest { name: id })
                .await?
                .into_inner();
            return Ok(ctx.print("Call", std::slice::from_ref(&c), || render::call_show(&c))?);
        }
        CallCmd::Hangup { id, leg: Some(leg) } => calls
            .hangup_leg(pb::HangupLegRequest {
                leg: format!("calls/{id}/legs/{leg}"),
                ..Default::default()
            })
            .await?
            .into_inner(),
        CallCmd::Hangup { id, leg: None } => calls
            .end_call(pb::EndCallRequest {
                call: id,
                ..Default::default()
            })
            .await?
            .into_inner(),
        CallCmd::Transfer(t) => {
            use pb::transfer_target::Target;
            let target = match (t.to_agent, t.to_queue, t.to_number) {
                (Some(a), _, _) => Target::Agent(a),
                (_, Some(q), _) => Target::Queue(q),
                (_, _, Some(n)) => Target::Number(n),
                _ => {
                    return Err(
                        anyhow::anyhow!("give --to-agent, --to-queue or --to-number").into(),
                    );
                }
            };
            calls
                .blind_transfer(pb::BlindTransferRequest {
                    leg: format!("calls/{}/legs/{}", t.id, t.leg),
                    target: Some(pb::TransferTarget {
                        target: Some(target),
                    }),
                    ..Default::default()
                })
                .await?
                .into_inner()
        }
        CallCmd::Dial { agent, to } => calls
            .make_call(pb::MakeCallRequest {
                agent,
                to,
                ..Default::default()
            })
            .await?
            .into_inner(),
    };
    Ok(
        ctx.print("CommandAccepted", std::slice::from_ref(&accepted), || {
            accepted_line(&accepted)
        })?,
    )
}

pub(crate) async fn watch(ctx: &Ctx, args: WatchArgs) -> Result<(), Failure> {
    let start = match args.after {
        Some(seq) => pb::subscribe_request::Start::AfterSeq(seq),
        None => pb::subscribe_request::Start::Position(pb::StartPosition::Now as i32),
    };
    let mut stream = ctx
        .events()
        .subscribe(pb::SubscribeRequest {
            start: Some(start),
            filter: Some(pb::EventFilter {
                kinds: args.kind,
                agents: args.agent,
                queues: args.queue,
                call_ids: Vec::new(),
            }),
            client_name: "sbctl watch".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut seen = 0;
    while let Some(message) = stream.message().await? {
        match message.kind {
            Some(Kind::Event(e)) => {
                if ctx.json {
                    println!("{}", render::json("switchboard.v1.Event", &e)?);
                } else {
                    println!("{}", render::event_line(&e));
                }
                seen += 1;
                if args.count.is_some_and(|n| seen >= n) {
                    break;
                }
            }
            Some(Kind::CaughtUp(c)) if !ctx.json => {
                println!(
                    "-- caught up at seq {} (journal {}), live from here --",
                    c.watermark_seq, c.journal_epoch
                );
            }
            _ => {}
        }
    }
    Ok(())
}
