//! A call and its legs, as the engine holds them (B2BUA: the caller's dialog and each agent
//! dialog are separate legs; media is anchored, so each leg has its own RTP port).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use rsip::Request;
use switchboard_acd::OfferId;
use switchboard_ivr::IvrSession;
use switchboard_media::sdp::{LocalSdp, SdpOffer};
use switchboard_sip::Peer;
use switchboard_sip::dialog::Dialog;
use switchboard_sip::transaction::TransactionId;
use switchboard_store::HangupSide;

use crate::output::LegId;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallState {
    /// Answered, running an IVR flow.
    Ivr,
    /// In a queue (waiting, or ringing agents).
    Queued,
    /// Bridged to an agent.
    Connected,
    /// Agent hung up; the caller answers the survey.
    Survey,
    /// Being forwarded out through a trunk (route or overflow to a URI, transfer to a number):
    /// the far leg rings.
    Forwarding,
}

/// The customer's side: the trunk call that came in, or (click-to-dial, callbacks) the one we
/// dial out once the agent has answered.
#[derive(Debug)]
pub(crate) struct CallerLeg {
    pub(crate) leg: LegId,
    pub(crate) rtp: SocketAddr,
    pub(crate) peer: Peer,
    /// `None` while the customer is not (or no longer) on the line: a click-to-dial or
    /// callback not yet dialled, or a caller who hung up after asking for a callback.
    pub(crate) dialog: Option<Dialog>,
    pub(crate) sdp: LocalSdp,
    /// Our offer in a 2xx to an offerless (re-)INVITE, answered in the ACK (RFC 3264 §5).
    pub(crate) pending_offer: Option<SdpOffer>,
    /// The `Reason` header (RFC 3326) our next BYE on this leg carries.
    pub(crate) bye_reason: Option<String>,
    /// The caller's INVITE, unanswered while the far end of a forwarded call rings
    /// (`late_answer.rs`).
    pub(crate) pending_answer: Option<crate::late_answer::PendingAnswer>,
}

/// The caller's time in a queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueStay {
    pub(crate) queue: String,
    pub(crate) entered: Instant,
    pub(crate) orig_position: u32,
    pub(crate) position: u32,
}

/// One customer interaction, `call_id` for its whole life.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: u128,
    pub(crate) text_id: String,
    pub(crate) caller: CallerLeg,
    /// Caller's number (From user).
    pub(crate) src: String,
    /// `"Name" <number>`.
    pub(crate) clid: String,
    /// The caller's display name as presented (From), empty if none.
    pub(crate) display: String,
    pub(crate) dnis: String,
    pub(crate) trunk: String,
    /// Route target name (queue or flow) for `dcontext`.
    pub(crate) context: String,
    pub(crate) started: SystemTime,
    pub(crate) answered: SystemTime,
    pub(crate) state: CallState,
    pub(crate) queue: Option<QueueStay>,
    /// The agent leg that answered.
    pub(crate) connected: Option<OfferId>,
    pub(crate) connected_at: Option<(Instant, SystemTime)>,
    pub(crate) record: bool,
    pub(crate) survey: bool,
    pub(crate) survey_score: Option<u8>,
    pub(crate) recording_path: Option<String>,
    /// Call data (IVR inputs): `menu` and friends.
    pub(crate) data: BTreeMap<String, String>,
    /// Bumped by every change of `data` (the API's `CallData.version`).
    pub(crate) data_version: u64,
    /// Each value the IVR collected, in order, with when.
    pub(crate) inputs: Vec<IvrInputRecord>,
    /// When the call first entered a queue (its wait counts from here, through transfers).
    pub(crate) first_queued: Option<Instant>,
    /// The queue priority the call enters with (and has, when the router no longer holds it).
    pub(crate) priority: i32,
    pub(crate) ivr: Option<IvrSession>,
    /// The last agent who had the call (for the CDR after the agent leg ends).
    pub(crate) agent: Option<String>,
    pub(crate) next_playback: u32,
    /// Why the last agent was let go before answering, for the CDR's end reason.
    pub(crate) rona: bool,
    /// One side put the other on hold (re-INVITE sendonly/inactive): it hears music.
    pub(crate) held: bool,
    /// The consulted agent in a three-party conference (`conference.rs`): its offer and its
    /// router id; `connected` is the other agent.
    pub(crate) conferee: Option<(switchboard_acd::OfferId, u128)>,
    /// The transfers the call went through, oldest first (the screen-pop's history; the last
    /// `MAX_TRANSFERS` kept).
    pub(crate) transfers: Vec<switchboard_proto::pb::TransferRecord>,
    /// RFC 4028 on the caller's leg, when the caller asked for it.
    pub(crate) session_timer: Option<crate::session_timer::SessionTimer>,
    /// The customer is dialled out through a trunk once the agent answers (click-to-dial,
    /// callbacks): the destination as given.
    pub(crate) dial_customer: Option<String>,
    /// The outbound leg the caller is forwarded to (route or overflow to a URI, transfer to a
    /// number), ringing or bridged: it stands where an agent leg would.
    pub(crate) far: Option<crate::outbound::OutboundId>,
    /// Waiting as a callback (the customer hung up and is called back when an agent takes
    /// it): a failed dial of the customer retries instead of ending the call.
    pub(crate) callback: bool,
    /// The number presented to a customer we dial (click-to-dial's `caller_id`); `None`: the
    /// trunk's `caller_id`.
    pub(crate) present_as: Option<String>,
    /// The `request_id` of the API command that created the call, quoted in its events.
    pub(crate) request_id: String,
    /// An offerless INVITE was answered with our offer: the queue (or, with `None`, the IVR
    /// flow) the call goes to once the ACK brings an acceptable answer.
    pub(crate) start_after_ack: Option<Option<String>>,
    /// The agent whose phone placed this call (a consultation); `None` for trunk calls.
    pub(crate) placed_by: Option<String>,
    /// The id the router knows the connected agent's session by: this call's own, or after an
    /// attended transfer the consultation call's (the router connected that agent there).
    pub(crate) router_call: u128,
    /// For a consultation placed from an agent's phone: the customer call that agent was on.
    pub(crate) consult_of: Option<u128>,
}

impl Call {
    /// A call as it starts: its ids, its customer leg, the parties and where it was dialled,
    /// answered at `started` and in `state`; everything that happens later (queue, agent,
    /// recording, transfers, data…) at its starting value. Callers set the rest with struct
    /// update syntax.
    #[allow(clippy::too_many_arguments)] // the identity every call has, given once
    pub(crate) fn new(
        id: u128,
        text_id: String,
        caller: CallerLeg,
        src: String,
        clid: String,
        dnis: String,
        trunk: String,
        context: String,
        started: SystemTime,
        state: CallState,
    ) -> Call {
        Call {
            id,
            text_id,
            caller,
            src,
            clid,
            display: String::new(),
            dnis,
            trunk,
            context,
            started,
            answered: started,
            state,
            queue: None,
            connected: None,
            connected_at: None,
            record: false,
            survey: false,
            survey_score: None,
            recording_path: None,
            data: BTreeMap::new(),
            data_version: 0,
            inputs: Vec::new(),
            first_queued: None,
            priority: 0,
            ivr: None,
            agent: None,
            next_playback: 1,
            rona: false,
            held: false,
            conferee: None,
            transfers: Vec::new(),
            session_timer: None,
            dial_customer: None,
            far: None,
            callback: false,
            present_as: None,
            request_id: String::new(),
            start_after_ack: None,
            placed_by: None,
            router_call: id,
            consult_of: None,
        }
    }
}

/// One value the IVR collected.
#[derive(Debug, Clone)]
pub(crate) struct IvrInputRecord {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) at: SystemTime,
}

/// Where an agent leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentLegState {
    /// `AgentAlerting` is being journaled; the INVITE leaves once it is committed.
    Journaling,
    /// INVITE sent, no final response.
    Ringing,
    /// We sent CANCEL (or decided not to send the INVITE); a 2xx that still arrives is ACKed
    /// and hung up.
    Cancelled,
    /// 2xx received, bridged.
    Answered,
}

/// The agent side of one offer.
#[derive(Debug)]
pub(crate) struct AgentLeg {
    pub(crate) offer: OfferId,
    pub(crate) call: u128,
    pub(crate) agent: String,
    pub(crate) leg: LegId,
    pub(crate) peer: Peer,
    pub(crate) invite: Request,
    pub(crate) tx: Option<TransactionId>,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) sdp_offer: SdpOffer,
    /// Our SDP state on this leg (answers to the phone's re-INVITEs).
    pub(crate) sdp: LocalSdp,
    /// Our RTP address on this leg.
    pub(crate) rtp: SocketAddr,
    pub(crate) rang_at: Instant,
    pub(crate) state: AgentLegState,
    /// Our offer in a 2xx to the phone's offerless re-INVITE, answered in its ACK.
    pub(crate) pending_offer: Option<SdpOffer>,
    /// For a consultation leg (API `StartConsultation`): the consultation's router id.
    pub(crate) consult: Option<u128>,
}

/// Who ended a call, and why, for the CDR and queue_log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ending {
    pub(crate) side: HangupSide,
    pub(crate) reason: &'static str,
}
