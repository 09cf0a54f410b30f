//! REGISTER processing (RFC 3261 §10.3 steps 3–8): authentication, authorisation, the
//! response. The binding table changes themselves are in `table.rs`.

use std::time::{Duration, Instant};

use rand::Rng;
use rsip::headers::{self, UntypedHeader};
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, StatusCode};

use super::contact::{self, RequestedContacts};
use super::table::Order;
use super::{Registrar, RegistrarEvent, RegistrarOutput};
use crate::Peer;
use crate::digest::{DigestCredentials, DigestError, Verdict, parse_credentials};
use crate::message::response_to;

/// Why a REGISTER is refused; each knows its response (STYLE §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rejection {
    /// 400, with the problem in a Warning header (RFC 3261 §20.43, code 399).
    BadRequest(&'static str),
    MethodNotAllowed,
    Challenge {
        stale: bool,
    },
    Forbidden,
    NotFound,
    IntervalTooBrief,
    /// §10.3 step 7: same Call-ID, CSeq not higher. The RFC says only "the request fails";
    /// 500 is what Kamailio and OpenSIPS answer, and phones retry it with a new CSeq.
    OutOfOrder,
    TooManyContacts,
}

impl Rejection {
    fn status(self) -> StatusCode {
        match self {
            Rejection::BadRequest(_) => StatusCode::BadRequest,
            Rejection::MethodNotAllowed => StatusCode::MethodNotAllowed,
            Rejection::Challenge { .. } => StatusCode::Unauthorized,
            Rejection::Forbidden | Rejection::TooManyContacts => StatusCode::Forbidden,
            Rejection::NotFound => StatusCode::NotFound,
            Rejection::IntervalTooBrief => StatusCode::IntervalTooBrief,
            Rejection::OutOfOrder => StatusCode::ServerInternalError,
        }
    }
}

impl Registrar {
    /// Handles a REGISTER received from `peer` and returns the response to send.
    pub fn handle_register(&mut self, now: Instant, request: &Request, peer: Peer) -> Response {
        self.stats.registers_received += 1;
        // Bindings past their time are gone whether or not the timer has fired yet.
        self.expire_due(now);
        let result = self.register(now, request, peer);
        let to_tag = format!("{:08x}", self.rng.random::<u32>());
        let mut response = match result {
            Ok(user) => {
                self.stats.registrations_ok += 1;
                let mut response = response_to(request, StatusCode::OK, Some(&to_tag));
                for entry in self.aors.get(&user).into_iter().flatten() {
                    let remaining = entry.binding.expires_at.saturating_duration_since(now);
                    response
                        .headers
                        .push(Header::Contact(headers::Contact::new(format!(
                            "{};expires={}",
                            entry.binding.contact_header,
                            ceil_secs(remaining)
                        ))));
                }
                response
            }
            Err(rejection) => {
                let mut response = response_to(request, rejection.status(), Some(&to_tag));
                match rejection {
                    Rejection::Challenge { stale } => {
                        self.stats.challenges_sent += 1;
                        for value in self.auth.challenge(now, stale) {
                            response.headers.push(Header::WwwAuthenticate(
                                headers::WwwAuthenticate::new(value),
                            ));
                        }
                    }
                    Rejection::IntervalTooBrief => {
                        response
                            .headers
                            .push(Header::MinExpires(headers::MinExpires::new(
                                self.config.min_expires.as_secs().to_string(),
                            )))
                    }
                    Rejection::MethodNotAllowed => response
                        .headers
                        .push(Header::Allow(headers::Allow::new("REGISTER"))),
                    Rejection::BadRequest(problem) => {
                        response
                            .headers
                            .push(Header::Warning(headers::Warning::new(format!(
                                "399 switchboard \"{problem}\""
                            ))))
                    }
                    _ => {}
                }
                response
            }
        };
        response
            .headers
            .push(Header::ContentLength(headers::ContentLength::new("0")));
        response
    }

    fn register(
        &mut self,
        now: Instant,
        request: &Request,
        peer: Peer,
    ) -> Result<String, Rejection> {
        if request.method != Method::Register {
            return Err(Rejection::MethodNotAllowed);
        }
        let to = request
            .to_header()
            .ok()
            .and_then(|h| h.typed().ok())
            .ok_or(Rejection::BadRequest("Malformed To"))?;
        let user = to
            .uri
            .user()
            .filter(|u| !u.is_empty())
            .ok_or(Rejection::BadRequest("To URI has no user"))?
            .to_string();
        let sip_call_id = request
            .call_id_header()
            .map(|h| h.value().to_string())
            .map_err(|_| Rejection::BadRequest("Missing Call-ID"))?;
        let cseq = request
            .cseq_header()
            .ok()
            .and_then(|h| h.typed().ok())
            .ok_or(Rejection::BadRequest("Malformed CSeq"))?
            .seq;

        // §10.3 step 3: authenticate.
        let credentials = self.credentials(request)?;
        let source = peer.remote.ip();
        let guessed = credentials
            .as_ref()
            .map_or(user.as_str(), |c| c.username.as_str());
        if self.lockouts.is_locked(now, guessed, source) {
            self.stats.rejected_locked_out += 1;
            return Err(Rejection::Forbidden);
        }
        if self.config.reveal_unknown_users && !self.config.users.contains_key(&user) {
            return Err(Rejection::NotFound);
        }
        let Some(credentials) = credentials else {
            return Err(Rejection::Challenge { stale: false });
        };
        let password = self
            .config
            .users
            .get(&credentials.username)
            .map(String::as_str);
        match self.auth.verify(
            now,
            request.method.to_string().as_str(),
            &credentials,
            password,
        ) {
            Verdict::Authenticated => {}
            Verdict::Stale => {
                self.stats.stale_nonces += 1;
                return Err(Rejection::Challenge { stale: true });
            }
            Verdict::WrongPassword => {
                self.stats.auth_failures += 1;
                if let Some(until) =
                    self.lockouts
                        .record_failure(now, &credentials.username, source)
                {
                    self.stats.lockouts += 1;
                    self.outputs
                        .push_back(RegistrarOutput::Event(RegistrarEvent::LockedOut {
                            user: credentials.username.clone(),
                            source,
                            until,
                        }));
                    return Err(Rejection::Forbidden);
                }
                return Err(Rejection::Challenge { stale: false });
            }
            Verdict::Replayed => {
                self.stats.replays_rejected += 1;
                return Err(Rejection::Challenge { stale: false });
            }
            Verdict::BadNonce | Verdict::WrongRealm | Verdict::NotOffered => {
                return Err(Rejection::Challenge { stale: false });
            }
        }
        self.lockouts.clear(&credentials.username, source);
        // §10.3 step 4: an authenticated user may only bind its own AOR.
        if credentials.username != user {
            return Err(Rejection::Forbidden);
        }
        // §10.3 step 5 (reached only with reveal_unknown_users off, for a user removed meanwhile).
        if !self.config.users.contains_key(&user) {
            return Err(Rejection::NotFound);
        }

        let requested =
            contact::requested_contacts(request).map_err(|e| Rejection::BadRequest(e.reason()))?;
        let header_expires =
            contact::expires_header(request).map_err(|e| Rejection::BadRequest(e.reason()))?;
        let order = Order {
            sip_call_id: &sip_call_id,
            cseq,
            user_agent: request.user_agent_header().map(|h| h.value()),
        };
        match requested {
            RequestedContacts::Query => {}
            RequestedContacts::Wildcard => self.remove_all(&user, order)?,
            RequestedContacts::List(list) => {
                self.update(now, &user, list, header_expires, order, peer)?
            }
        }
        Ok(user)
    }

    /// The digest credentials for our realm, if any. Credentials for other realms and schemes
    /// are ignored (answered with a challenge); unreadable ones get 400.
    fn credentials(&self, request: &Request) -> Result<Option<DigestCredentials>, Rejection> {
        let mut unreadable = false;
        for header in request.headers.iter() {
            let Header::Authorization(value) = header else {
                continue;
            };
            match parse_credentials(value.value()) {
                Ok(c) if c.realm == self.auth.realm() => return Ok(Some(c)),
                Ok(_) | Err(DigestError::NotDigest | DigestError::UnsupportedAlgorithm(_)) => {}
                Err(_) => unreadable = true,
            }
        }
        if unreadable {
            Err(Rejection::BadRequest("Malformed Authorization"))
        } else {
            Ok(None)
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
