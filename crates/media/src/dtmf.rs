//! DTMF: RFC 4733 telephone-events (receive and send) and SIP INFO `application/dtmf-relay`.
//!
//! A telephone-event payload is four bytes (RFC 4733 §2.3): the event code; the End bit, a
//! reserved bit and a 6-bit volume; a 16-bit duration in timestamp units. Every packet of one
//! key press carries the same RTP timestamp (the event start, §2.5.1.1); the duration grows with
//! each update, and the final value is sent three times with the E bit (§2.5.1.4) because RTP
//! has no retransmission.
//!
//! [`DtmfReceiver`] turns that redundant stream into exactly one [`Digit`] per key press, keyed
//! by timestamp: reported on the first packet of a new timestamp, whichever it is (the start
//! packet may be lost; an update or even an end packet then starts it), and never again for
//! that timestamp (updates, the three end packets, retransmissions and reordered stragglers
//! are absorbed). [`tone_packets`] generates the sending side.

use std::time::Duration;

use thiserror::Error;

/// A DTMF key (RFC 4733 §3.2, events 0–15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digit(u8);

impl Digit {
    /// The key for event code 0–15, `None` for other events (flash, tones…).
    pub const fn from_event(event: u8) -> Option<Digit> {
        if event <= 15 {
            Some(Digit(event))
        } else {
            None
        }
    }

    /// The key for a character `0-9 * # A-D` (case-insensitive).
    pub const fn from_char(c: char) -> Option<Digit> {
        let event = match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            'a'..='d' => c as u8 - b'a' + 12,
            _ => return None,
        };
        Some(Digit(event))
    }

    /// The RFC 4733 event code.
    pub const fn event(self) -> u8 {
        self.0
    }

    /// The key as a character `0-9 * # A-D`.
    pub const fn as_char(self) -> char {
        match self.0 {
            0..=9 => (b'0' + self.0) as char,
            10 => '*',
            11 => '#',
            e => (b'A' + (e - 12)) as char,
        }
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// One telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToneEvent {
    /// Event code (0–15 are DTMF).
    pub event: u8,
    /// The E bit: this is (a repeat of) the final packet of the event.
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units.
    pub duration: u16,
}

/// Why a payload is not a telephone-event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ToneEventError {
    /// Fewer than the 4 bytes of an event.
    #[error("telephone-event payload of {0} bytes, need 4")]
    TooShort(usize),
}

impl ToneEvent {
    /// Parses the first event of a payload. (Several events in one packet, §2.5.1.5 multiple
    /// events, are not sent by telephones for DTMF; trailing bytes are ignored.)
    pub fn parse(payload: &[u8]) -> Result<ToneEvent, ToneEventError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(ToneEventError::TooShort(payload.len()));
        };
        Ok(ToneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte payload.
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// A key press reported by [`DtmfReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitReceived {
    /// The key.
    pub digit: Digit,
    /// The RTP timestamp identifying the event (its start).
    pub rtp_timestamp: u32,
}

/// How many recent event timestamps are remembered for duplicate suppression. End packets are
/// repeated three times within ~60 ms; a handful of events covers any reordering window.
const RECENT: usize = 4;

/// The receive side of RFC 4733: one report per key press.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    /// Timestamps of events already reported, newest first in a small ring.
    recent: [Option<u32>; RECENT],
    next_slot: usize,
    /// The newest event timestamp, to drop stragglers from before it.
    newest: Option<u32>,
    /// Long-event continuation (§2.5.2.3): the event code and end of the last segment, when it
    /// reached the 16-bit duration limit without an end bit.
    open_long: Option<(u8, u32)>,
}

impl DtmfReceiver {
    /// A receiver with no history.
    pub fn new() -> DtmfReceiver {
        DtmfReceiver::default()
    }

    /// Accounts one telephone-event packet (RTP timestamp and payload); returns the key press
    /// the first time its event is seen.
    pub fn on_packet(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Option<DigitReceived> {
        let ev = ToneEvent::parse(payload).ok()?;
        if self.recent.contains(&Some(rtp_timestamp)) {
            if ev.duration == u16::MAX && !ev.end {
                self.open_long = Some((ev.event, rtp_timestamp.wrapping_add(u32::from(u16::MAX))));
            }
            return None;
        }
        if let Some(newest) = self.newest {
            // A straggler from before the newest event (serial-number comparison, wraps at 2^32).
            if (rtp_timestamp.wrapping_sub(newest) as i32) < 0 {
                return None;
            }
        }
        self.remember(rtp_timestamp);
        // A long event continues under a new timestamp without an end bit on the old one
        // (RFC 4733 §2.5.2.3): the same key, not a second press.
        let continues = matches!(self.open_long, Some((code, end)) if code == ev.event
            && rtp_timestamp.wrapping_sub(end) as i32 <= 0);
        self.open_long = if ev.duration == u16::MAX && !ev.end {
            Some((ev.event, rtp_timestamp.wrapping_add(u32::from(u16::MAX))))
        } else {
            None
        };
        if continues {
            return None;
        }
        Some(DigitReceived {
            digit: Digit::from_event(ev.event)?,
            rtp_timestamp,
        })
    }

    fn remember(&mut self, ts: u32) {
        self.recent[self.next_slot] = Some(ts);
        self.next_slot = (self.next_slot + 1) % RECENT;
        self.newest = Some(ts);
    }
}

/// One packet of a generated key press: send it `at` after the event start, with the RTP
/// timestamp of the event start and this payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TonePacket {
    /// Offset from the event start at which to send.
    pub at: Duration,
    /// Marker bit: set on the first packet of the event only (RFC 4733 §2.5.1.1).
    pub marker: bool,
    /// The payload.
    pub event: ToneEvent,
}

/// Interval between update packets while a key is held (RFC 4733 §2.5.1.2 suggests 50 ms).
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// Spacing of the three end packets (one audio frame).
pub const END_REPEAT_INTERVAL: Duration = Duration::from_millis(20);
/// −10 dBm0, the level telephones typically report.
const DEFAULT_VOLUME: u8 = 10;

/// The packets of one key press held for `duration` (capped at the 16-bit duration limit,
/// ~8 s at 8 kHz): a first packet with the marker at once, an update every
/// [`UPDATE_INTERVAL`] whose duration covers the time up to its send time, then three end
/// packets carrying the final duration, [`END_REPEAT_INTERVAL`] apart. All share one RTP
/// timestamp, which the caller assigns (the event start on its outbound stream).
pub fn tone_packets(
    digit: Digit,
    duration: Duration,
    clock_rate: u32,
) -> impl Iterator<Item = TonePacket> {
    let units = |d: Duration| -> u16 {
        (d.as_nanos() * u128::from(clock_rate) / 1_000_000_000).min(u128::from(u16::MAX)) as u16
    };
    let total = units(duration).max(1);
    let interval = units(UPDATE_INTERVAL).max(1);
    // Updates at 0, 50, 100 … ms while the key is still down; the first says one interval so a
    // receiver that sees only it still gets a non-zero duration.
    let updates = u32::from(total).div_ceil(u32::from(interval));
    let event = digit.event();
    let progress = (0..updates).map(move |k| TonePacket {
        at: UPDATE_INTERVAL * k,
        marker: k == 0,
        event: ToneEvent {
            event,
            end: false,
            volume: DEFAULT_VOLUME,
            duration: (u32::from(interval) * (k + 1)).min(u32::from(total)) as u16,
        },
    });
    let end_start = UPDATE_INTERVAL * updates;
    let ends = (0..3u32).map(move |k| TonePacket {
        at: end_start + END_REPEAT_INTERVAL * k,
        marker: false,
        event: ToneEvent {
            event,
            end: true,
            volume: DEFAULT_VOLUME,
            duration: total,
        },
    });
    progress.chain(ends)
}

/// A key press carried in a SIP INFO `application/dtmf-relay` body (the Cisco format also
/// used by Asterisk, FreeSWITCH and Polycom): `Signal=5` and optionally `Duration=160` (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoDtmf {
    /// The key.
    pub digit: Digit,
    /// How long it was held, if given.
    pub duration: Option<Duration>,
}

/// Why a dtmf-relay body was not understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InfoDtmfError {
    /// No `Signal=` line.
    #[error("dtmf-relay body has no Signal line")]
    MissingSignal,
    /// The signal is not a DTMF key.
    #[error("dtmf-relay Signal is not a DTMF key")]
    BadSignal,
    /// The duration is not a number of milliseconds.
    #[error("dtmf-relay Duration is not a number")]
    BadDuration,
}

impl InfoDtmf {
    /// Parses a dtmf-relay body. Lines end in CRLF or LF; names are case-insensitive and may
    /// have spaces around `=`. Numeric signals 10 and 11 (sent by some gateways for `*` and `#`)
    /// are accepted.
    pub fn parse(body: &[u8]) -> Result<InfoDtmf, InfoDtmfError> {
        let text = std::str::from_utf8(body).map_err(|_| InfoDtmfError::BadSignal)?;
        let mut digit = None;
        let mut duration = None;
        for line in text.lines() {
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("signal") {
                digit = Some(match value {
                    "10" => Digit(10),
                    "11" => Digit(11),
                    v => {
                        let mut chars = v.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => {
                                Digit::from_char(c).ok_or(InfoDtmfError::BadSignal)?
                            }
                            _ => return Err(InfoDtmfError::BadSignal),
                        }
                    }
                });
            } else if name.eq_ignore_ascii_case("duration") {
                let ms: u64 = value.parse().map_err(|_| InfoDtmfError::BadDuration)?;
                duration = Some(Duration::from_millis(ms));
            }
        }
        Ok(InfoDtmf {
            digit: digit.ok_or(InfoDtmfError::MissingSignal)?,
            duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        ToneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    /// Runs packets through a receiver and returns the digits reported, as a string.
    fn received(packets: &[(u32, [u8; 4])]) -> String {
        let mut rx = DtmfReceiver::new();
        packets
            .iter()
            .filter_map(|(ts, p)| rx.on_packet(*ts, p))
            .map(|d| d.digit.as_char())
            .collect()
    }

    /// The packets a sender makes for `digits`, each event 400 ms after the previous.
    fn sent(digits: &str) -> Vec<(u32, [u8; 4])> {
        digits
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let ts = 1000 + i as u32 * 3200;
                tone_packets(
                    Digit::from_char(c).unwrap(),
                    Duration::from_millis(160),
                    8000,
                )
                .map(move |p| (ts, p.event.to_bytes()))
            })
            .collect()
    }

    #[test]
    fn events_map_to_keys() {
        let keys: String = (0..16)
            .map(|e| Digit::from_event(e).unwrap().as_char())
            .collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(Digit::from_event(16), None);
        for c in "0123456789*#ABCD".chars() {
            assert_eq!(Digit::from_char(c).unwrap().as_char(), c);
        }
        assert_eq!(Digit::from_char('b'), Digit::from_char('B'));
    }

    #[test]
    fn payload_parses_per_rfc_4733_layout() {
        // Digit 5, end bit, volume 10, duration 800.
        let ev = ToneEvent::parse(&[5, 0x8A, 0x03, 0x20]).unwrap();
        assert_eq!(
            ev,
            ToneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(ev.to_bytes(), [5, 0x8A, 0x03, 0x20]);
        assert_eq!(ToneEvent::parse(&[5, 0]), Err(ToneEventError::TooShort(2)));
    }

    #[test]
    fn a_full_key_press_is_reported_once() {
        assert_eq!(received(&sent("5")), "5");
    }

    #[test]
    fn a_sequence_of_keys_is_reported_in_order() {
        assert_eq!(received(&sent("0123456789*#ABCD")), "0123456789*#ABCD");
    }

    #[test]
    fn the_same_key_twice_is_two_presses() {
        assert_eq!(received(&sent("11")), "11");
    }

    #[test]
    fn losing_the_start_packet_still_reports_the_key() {
        let mut packets = sent("7");
        packets.remove(0);
        assert_eq!(received(&packets), "7");
    }

    #[test]
    fn losing_everything_but_one_end_packet_still_reports_the_key() {
        let packets = sent("9");
        let last = *packets.last().unwrap();
        assert_eq!(received(&[last]), "9");
    }

    #[test]
    fn losing_all_end_packets_does_not_merge_the_next_key() {
        let packets: Vec<_> = sent("42")
            .into_iter()
            .filter(|(_, p)| !ToneEvent::parse(p).unwrap().end)
            .collect();
        assert_eq!(received(&packets), "42");
    }

    #[test]
    fn duplicated_packets_are_suppressed() {
        let packets: Vec<_> = sent("38").into_iter().flat_map(|p| [p, p]).collect();
        assert_eq!(received(&packets), "38");
    }

    #[test]
    fn a_late_end_packet_of_the_previous_key_is_ignored() {
        let mut packets = sent("12");
        // Move the first key's last end packet after the second key's start.
        let first_key_end = packets.iter().rposition(|(ts, _)| *ts == 1000).unwrap();
        let straggler = packets.remove(first_key_end);
        let second_start = packets.iter().position(|(ts, _)| *ts != 1000).unwrap();
        packets.insert(second_start + 1, straggler);
        assert_eq!(received(&packets), "12");
    }

    #[test]
    fn non_dtmf_events_are_not_reported() {
        assert_eq!(
            received(&[(1, payload(16, false, 160)), (1, payload(16, true, 800))]),
            ""
        );
    }

    #[test]
    fn timestamps_wrapping_past_u32_max_keep_working() {
        let packets = [
            (u32::MAX - 100, payload(1, false, 400)),
            (u32::MAX - 100, payload(1, true, 800)),
            (3000, payload(2, false, 400)),
            (3000, payload(2, true, 800)),
        ];
        assert_eq!(received(&packets), "12");
    }

    #[test]
    fn a_long_event_continued_under_a_new_timestamp_is_one_press() {
        // RFC 4733 §2.5.2.3: the first segment ends at the 16-bit limit without an E bit.
        let packets = [
            (0, payload(0, false, 400)),
            (0, payload(0, false, u16::MAX)),
            (65535, payload(0, false, 400)),
            (65535, payload(0, true, 800)),
        ];
        assert_eq!(received(&packets), "0");
    }

    #[test]
    fn generated_key_press_follows_rfc_4733_timing() {
        let p: Vec<_> = tone_packets(
            Digit::from_char('#').unwrap(),
            Duration::from_millis(200),
            8000,
        )
        .collect();
        // 200 ms = 1600 units: updates at 0, 50, 100, 150 ms, then 3 end packets.
        assert_eq!(p.len(), 7);
        assert!(p[0].marker && p.iter().skip(1).all(|x| !x.marker));
        let durations: Vec<u16> = p.iter().map(|x| x.event.duration).collect();
        assert_eq!(durations, [400, 800, 1200, 1600, 1600, 1600, 1600]);
        let ats: Vec<u64> = p.iter().map(|x| x.at.as_millis() as u64).collect();
        assert_eq!(ats, [0, 50, 100, 150, 200, 220, 240]);
        assert!(p[..4].iter().all(|x| !x.event.end));
        assert!(p[4..].iter().all(|x| x.event.end && x.event.event == 11));
    }

    #[test]
    fn dtmf_relay_body_parses() {
        assert_eq!(
            InfoDtmf::parse(b"Signal=5\r\nDuration=160\r\n").unwrap(),
            InfoDtmf {
                digit: Digit::from_char('5').unwrap(),
                duration: Some(Duration::from_millis(160))
            }
        );
        assert_eq!(
            InfoDtmf::parse(b"signal = #\n").unwrap().digit.as_char(),
            '#'
        );
        assert_eq!(
            InfoDtmf::parse(b"Signal=10\r\n").unwrap().digit.as_char(),
            '*'
        );
        assert_eq!(
            InfoDtmf::parse(b"Duration=160"),
            Err(InfoDtmfError::MissingSignal)
        );
        assert_eq!(InfoDtmf::parse(b"Signal=X"), Err(InfoDtmfError::BadSignal));
        assert_eq!(InfoDtmf::parse(b"Signal=12"), Err(InfoDtmfError::BadSignal));
        assert_eq!(
            InfoDtmf::parse(b"Signal=1\r\nDuration=abc"),
            Err(InfoDtmfError::BadDuration)
        );
    }

    proptest! {
        #[test]
        fn tone_event_round_trips(event in any::<u8>(), end in any::<bool>(), volume in 0u8..64, duration in any::<u16>()) {
            let ev = ToneEvent { event, end, volume, duration };
            prop_assert_eq!(ToneEvent::parse(&ev.to_bytes()).unwrap(), ev);
        }

        #[test]
        fn every_digit_survives_any_loss_that_keeps_one_packet(
            digits in "[0-9*#A-D]{1,8}",
            keep in proptest::collection::vec(any::<bool>(), 0..200),
            dup in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let all = sent(&digits);
            let mut packets = Vec::new();
            let mut kept_per_event = std::collections::HashMap::new();
            for (i, p) in all.iter().enumerate() {
                if keep.get(i).copied().unwrap_or(true) {
                    packets.push(*p);
                    *kept_per_event.entry(p.0).or_insert(0) += 1;
                    if dup.get(i).copied().unwrap_or(false) { packets.push(*p); }
                }
            }
            // Each key press survives iff at least one of its packets did.
            let expected: String = digits.chars().enumerate()
                .filter(|(i, _)| kept_per_event.contains_key(&(1000 + *i as u32 * 3200)))
                .map(|(_, c)| c).collect();
            prop_assert_eq!(received(&packets), expected);
        }

        #[test]
        fn arbitrary_payloads_never_panic(ts in any::<u32>(), bytes in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut rx = DtmfReceiver::new();
            let _ = rx.on_packet(ts, &bytes);
            let _ = InfoDtmf::parse(&bytes);
        }
    }
}
