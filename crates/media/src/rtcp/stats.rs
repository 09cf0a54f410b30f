//! Per-source reception statistics (RFC 3550 Appendix A.1, A.3, A.8) and the reception report
//! block they produce.
//!
//! One [`ReceptionStats`] per remote SSRC. The receive path calls [`ReceptionStats::on_rtp`]
//! for every packet (a few integer operations, no allocation); the RTCP timer calls
//! [`ReceptionStats::report_block`] once per interval. The numbers also feed the CDR and
//! metrics (loss and jitter per leg).

use std::time::{Duration, Instant};

use super::packet::{NtpTime, ReportBlock, duration_to_dlsr};

/// A jump larger than this is a restart or a misbehaving source, not loss (A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;
/// Packets this far behind are old duplicates or reordering across a restart (A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;
/// Sequential packets needed before a new source counts as valid (A.1 `MIN_SEQUENTIAL`).
const MIN_SEQUENTIAL: u32 = 2;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// What [`ReceptionStats::on_rtp`] concluded about a packet's sequence number (A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    /// In sequence (or a tolerable gap / reorder): count it and use it.
    Valid,
    /// The source is still on probation (first packets): not yet valid.
    Probation,
    /// A big jump: held until a second sequential packet confirms a restart.
    Bad,
}

/// Reception statistics for one remote source.
#[derive(Debug, Clone)]
pub struct ReceptionStats {
    ssrc: u32,
    clock_rate: u32,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Relative transit time of the previous packet, in timestamp units (A.8).
    transit: Option<i64>,
    /// Jitter estimate scaled by 16 (A.8, integer form).
    jitter_q4: u32,
    /// Arrival clock origin: arrival times are `now - epoch` in timestamp units.
    epoch: Instant,
    last_sr: Option<(u32, Instant)>,
    octets: u64,
}

impl ReceptionStats {
    /// Starts tracking `ssrc` from its first packet's sequence number (A.1 `init_seq` +
    /// probation). `clock_rate` is the payload's RTP clock (8000 for G.711).
    pub fn new(now: Instant, ssrc: u32, first_seq: u16, clock_rate: u32) -> ReceptionStats {
        let mut s = ReceptionStats {
            ssrc,
            clock_rate,
            max_seq: first_seq.wrapping_sub(1),
            cycles: 0,
            base_seq: 0,
            bad_seq: RTP_SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            epoch: now,
            last_sr: None,
            octets: 0,
        };
        s.init_seq(first_seq.wrapping_sub(1));
        s.probation = MIN_SEQUENTIAL;
        s
    }

    /// The source these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`: sequence tracking with wraparound, probation and restart detection.
    fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqVerdict::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqVerdict::Probation;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                // Wrapped: another 64K cycle.
                self.cycles += RTP_SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump.
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: the source restarted without telling us.
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return SeqVerdict::Bad;
            }
        }
        // else: duplicate or reordered packet, counted below.
        self.received += 1;
        SeqVerdict::Valid
    }

    /// Accounts one received RTP packet: sequence (A.1) and, for valid packets, jitter (A.8).
    pub fn on_rtp(
        &mut self,
        now: Instant,
        seq: u16,
        rtp_timestamp: u32,
        payload_len: usize,
    ) -> SeqVerdict {
        let verdict = self.update_seq(seq);
        if verdict == SeqVerdict::Valid {
            self.octets += payload_len as u64;
            let arrival = self.arrival_units(now);
            let transit = arrival - i64::from(rtp_timestamp);
            if let Some(prev) = self.transit {
                // Timestamps wrap at 2^32: take the difference modulo 2^32 as signed.
                let d = i64::from(((transit - prev) as u32) as i32).unsigned_abs();
                let d = d.min(u64::from(u32::MAX >> 4)) as u32;
                // J += (|D| - J) / 16, in the scaled-by-16 integer form of A.8.
                self.jitter_q4 = self
                    .jitter_q4
                    .wrapping_add(d)
                    .wrapping_sub((self.jitter_q4 + 8) >> 4);
            }
            self.transit = Some(transit);
        }
        verdict
    }

    fn arrival_units(&self, now: Instant) -> i64 {
        let elapsed = now.saturating_duration_since(self.epoch);
        (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as i64
    }

    /// Records an SR from this source, for LSR/DLSR in our next report (RFC 3550 §6.4.1).
    pub fn on_sender_report(&mut self, now: Instant, ntp: NtpTime) {
        self.last_sr = Some((ntp.middle32(), now));
    }

    /// Highest sequence number seen, extended with the wrap count (A.3).
    pub fn extended_max_seq(&self) -> u32 {
        self.cycles + u32::from(self.max_seq)
    }

    /// Packets expected from the first valid one to the highest seen (A.3).
    pub fn expected(&self) -> u32 {
        self.extended_max_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Valid packets received (duplicates included, as in A.3).
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Payload octets received in valid packets.
    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// Cumulative loss, clamped to the signed 24-bit range a report block carries (A.3).
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7F_FFFF) as i32
    }

    /// Interarrival jitter in timestamp units (A.8).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Interarrival jitter as a duration, for metrics and the CDR.
    pub fn jitter_duration(&self) -> Duration {
        if self.clock_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// Builds this source's report block and starts a new reporting interval (A.3: the
    /// fraction lost covers only the packets since the previous report).
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_dlsr(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            extended_highest_seq: self.extended_max_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    /// Feeds `seqs` at 20 ms intervals with timestamps advancing 160 per sequence step.
    fn feed(stats: &mut ReceptionStats, t0: Instant, seqs: &[u16]) -> Vec<SeqVerdict> {
        seqs.iter()
            .enumerate()
            .map(|(i, &s)| {
                let ts = u32::from(s.wrapping_sub(seqs[0])) * 160;
                stats.on_rtp(t0 + FRAME * i as u32, s, ts, 160)
            })
            .collect()
    }

    #[test]
    fn new_source_is_on_probation_until_two_sequential_packets() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 100, 8000);
        let v = feed(&mut s, t0, &[100, 101, 102]);
        assert_eq!(
            v,
            [SeqVerdict::Probation, SeqVerdict::Valid, SeqVerdict::Valid]
        );
        assert_eq!(s.received(), 2);
        assert_eq!(s.expected(), 2);
    }

    #[test]
    fn sequence_wraparound_adds_a_cycle() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 65533, 8000);
        feed(&mut s, t0, &[65533, 65534, 65535, 0, 1]);
        assert_eq!(s.extended_max_seq(), 65536 + 1);
        assert_eq!(s.cumulative_lost(), 0);
        assert_eq!(s.expected(), 4);
    }

    #[test]
    fn gaps_count_as_loss_and_fraction_covers_only_the_interval() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 9, 10, 8000);
        // Valid from 11; 14 and 15 missing: expected 11..=18 = 8, received 6.
        feed(&mut s, t0, &[10, 11, 12, 13, 16, 17, 18]);
        let b = s.report_block(t0 + Duration::from_secs(1));
        assert_eq!(b.ssrc, 9);
        assert_eq!(b.cumulative_lost, 2);
        assert_eq!(b.fraction_lost, (2 * 256 / 8) as u8);
        assert_eq!(b.extended_highest_seq, 18);
        // Next interval without loss: fraction 0, cumulative stays.
        let t1 = t0 + Duration::from_secs(2);
        for (i, seq) in (19..23).enumerate() {
            s.on_rtp(t1 + FRAME * i as u32, seq, 160 * u32::from(seq - 10), 160);
        }
        let b = s.report_block(t1 + Duration::from_secs(1));
        assert_eq!(b.fraction_lost, 0);
        assert_eq!(b.cumulative_lost, 2);
    }

    #[test]
    fn duplicates_make_cumulative_loss_negative_not_wrap() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 1, 8000);
        feed(&mut s, t0, &[1, 2, 3, 3, 3]);
        assert_eq!(s.cumulative_lost(), -2);
        assert_eq!(s.report_block(t0).fraction_lost, 0);
    }

    #[test]
    fn large_jump_is_bad_until_confirmed_then_restarts() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 1, 8000);
        feed(&mut s, t0, &[1, 2, 3]);
        assert_eq!(s.on_rtp(t0, 30000, 0, 160), SeqVerdict::Bad);
        assert_eq!(s.on_rtp(t0, 30001, 160, 160), SeqVerdict::Valid);
        assert_eq!(s.extended_max_seq(), 30001);
        assert_eq!(s.received(), 1);
    }

    #[test]
    fn jitter_is_zero_for_perfectly_paced_packets() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 0, 8000);
        let seqs: Vec<u16> = (0..100).collect();
        feed(&mut s, t0, &seqs);
        assert_eq!(s.jitter(), 0);
    }

    #[test]
    fn jitter_converges_towards_the_mean_deviation() {
        // Every other packet arrives 10 ms (80 units) late: |D| is 80 for every pair, so J
        // converges to 80 (A.8: J += (|D| - J)/16).
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 0, 8000);
        for i in 0..400u32 {
            let late = if i % 2 == 1 {
                Duration::from_millis(10)
            } else {
                Duration::ZERO
            };
            s.on_rtp(t0 + FRAME * i + late, i as u16, i * 160, 160);
        }
        assert!((75..=80).contains(&s.jitter()), "jitter {}", s.jitter());
        assert_eq!(
            s.jitter_duration(),
            Duration::from_micros(u64::from(s.jitter()) * 125)
        );
    }

    #[test]
    fn report_carries_lsr_and_dlsr_after_a_sender_report() {
        let t0 = Instant::now();
        let mut s = ReceptionStats::new(t0, 1, 0, 8000);
        let ntp = NtpTime(0x0000_1234_5678_0000);
        s.on_sender_report(t0, ntp);
        let b = s.report_block(t0 + Duration::from_millis(250));
        assert_eq!(b.last_sr, 0x1234_5678);
        assert_eq!(b.delay_since_last_sr, 0x4000);
    }
}
