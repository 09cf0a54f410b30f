//! A gRPC client for the daemon-driving benches on its own thread: the bench thread hands it
//! a request and goes straight back to timing the SIP side, so an RPC's round trip does not
//! delay the receive stamps.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchboard_api::pb;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// What the client thread can be asked to do.
pub enum Rpc {
    Login { agent: String, ready: bool },
    SetReady { agent: String },
    SetNotReady { agent: String },
    Reload,
}

/// The result of one RPC: its round trip, or the error.
pub type RpcResult = Result<Duration, String>;

pub struct GrpcClient {
    tx: mpsc::Sender<(Rpc, mpsc::Sender<RpcResult>)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GrpcClient {
    pub fn connect(addr: SocketAddr, token: &str) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel::<(Rpc, mpsc::Sender<RpcResult>)>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let bearer: MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|e| format!("token: {e}"))?;
        let thread = std::thread::Builder::new()
            .name("bench-grpc".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let channel = match Channel::from_shared(format!("http://{addr}"))
                        .map_err(|e| e.to_string())
                    {
                        Ok(c) => match c.connect().await {
                            Ok(c) => c,
                            Err(e) => {
                                let _ = ready_tx.send(Err(e.to_string()));
                                return;
                            }
                        },
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let auth = move |mut req: tonic::Request<()>| {
                        req.metadata_mut().insert("authorization", bearer.clone());
                        Ok(req)
                    };
                    let mut agents = pb::agent_service_client::AgentServiceClient::with_interceptor(
                        channel.clone(),
                        auth.clone(),
                    );
                    let mut admin = pb::admin_service_client::AdminServiceClient::with_interceptor(
                        channel, auth,
                    );
                    let _ = ready_tx.send(Ok(()));
                    while let Ok((rpc, reply)) = rx.recv() {
                        let t = Instant::now();
                        let r = match rpc {
                            Rpc::Login { agent, ready } => agents
                                .login_agent(pb::LoginAgentRequest {
                                    agent,
                                    ready,
                                    ..Default::default()
                                })
                                .await
                                .map(|_| ()),
                            Rpc::SetReady { agent } => agents
                                .set_agent_state(pb::SetAgentStateRequest {
                                    agent,
                                    state: pb::AgentState::Ready as i32,
                                    when: pb::StateChangeWhen::Immediate as i32,
                                    ..Default::default()
                                })
                                .await
                                .map(|_| ()),
                            Rpc::SetNotReady { agent } => agents
                                .set_agent_state(pb::SetAgentStateRequest {
                                    agent,
                                    state: pb::AgentState::NotReady as i32,
                                    when: pb::StateChangeWhen::Immediate as i32,
                                    ..Default::default()
                                })
                                .await
                                .map(|_| ()),
                            Rpc::Reload => admin
                                .reload_config(pb::ReloadConfigRequest::default())
                                .await
                                .map(|_| ()),
                        };
                        let _ = reply.send(r.map(|()| t.elapsed()).map_err(|s| s.to_string()));
                    }
                });
            })
            .map_err(|e| format!("spawning the gRPC thread: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "the gRPC thread died".to_owned())??;
        Ok(Self {
            tx,
            thread: Some(thread),
        })
    }

    /// Sends `rpc` without waiting; the receiver yields its result.
    pub fn send(&self, rpc: Rpc) -> mpsc::Receiver<RpcResult> {
        let (reply, rx) = mpsc::channel();
        let _ = self.tx.send((rpc, reply));
        rx
    }

    /// Sends `rpc` and waits for its result.
    pub fn call(&self, rpc: Rpc) -> RpcResult {
        self.send(rpc)
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| "no answer from the gRPC thread".to_owned())?
    }
}

impl Drop for GrpcClient {
    fn drop(&mut self) {
        let (tx, _) = mpsc::channel();
        self.tx = tx;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
