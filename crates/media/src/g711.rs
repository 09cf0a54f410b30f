//! ITU-T G.711 µ-law (PCMU) and A-law (PCMA), and 16-bit PCM mixing.
//!
//! The companding follows the ITU-T G.711 segment tables in the widely used Sun Microsystems
//! reference formulation (`g711.c`, public domain): µ-law on a 14-bit magnitude with bias 33
//! (0x84 in 16-bit terms), A-law on a 13-bit magnitude with the even bits inverted (XOR 0x55).
//! Decoding is a 256-entry table per law, built at compile time by `const fn`; encoding is a
//! handful of integer operations (a 64 KiB table per law would cost more cache than it saves).
//! µ↔A transcoding is a 256-entry table per direction, also built at compile time, by
//! decoding to linear and re-encoding: the bridge uses it when the two legs negotiated
//! different laws, one table lookup per byte, no intermediate PCM buffer.

/// One of the two G.711 laws, with its static RTP payload type (RFC 3551 §6, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, RTP payload type 0, "PCMU/8000".
    Pcmu,
    /// A-law, RTP payload type 8, "PCMA/8000".
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551 Table 4).
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec a static payload type names, if it is one of ours.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The SDP `a=rtpmap` encoding name (RFC 3551 §6).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec named by an rtpmap encoding name (case-insensitive, RFC 4566 §6).
    pub fn from_encoding_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }

    /// The code of digital silence (linear 0) in this law.
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// Encodes one linear sample.
    pub const fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => linear_to_ulaw(sample),
            Codec::Pcma => linear_to_alaw(sample),
        }
    }

    /// Decodes one code to a linear sample.
    pub const fn decode_sample(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ULAW_TO_LINEAR[code as usize],
            Codec::Pcma => ALAW_TO_LINEAR[code as usize],
        }
    }

    /// Encodes `pcm` into `out`; encodes `min(pcm.len(), out.len())` samples and returns that.
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) -> usize {
        let n = pcm.len().min(out.len());
        for (o, s) in out.iter_mut().zip(pcm) {
            *o = self.encode_sample(*s);
        }
        n
    }

    /// Decodes `codes` into `out`; decodes `min(codes.len(), out.len())` bytes and returns that.
    pub fn decode(self, codes: &[u8], out: &mut [i16]) -> usize {
        let table = match self {
            Codec::Pcmu => &ULAW_TO_LINEAR,
            Codec::Pcma => &ALAW_TO_LINEAR,
        };
        let n = codes.len().min(out.len());
        for (o, c) in out.iter_mut().zip(codes) {
            *o = table[usize::from(*c)];
        }
        n
    }

    /// Rewrites `payload` in place from this law to `to` (no-op when they are the same).
    pub fn transcode_in_place(self, to: Codec, payload: &mut [u8]) {
        let table = match (self, to) {
            (Codec::Pcmu, Codec::Pcma) => &ULAW_TO_ALAW,
            (Codec::Pcma, Codec::Pcmu) => &ALAW_TO_ULAW,
            _ => return,
        };
        for b in payload {
            *b = table[usize::from(*b)];
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude µ-law represents before the bias is added (8159 · 4 = 32636).
const ULAW_CLIP: i32 = 8159;
const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

const fn segment(value: i32, ends: &[i32; 8]) -> usize {
    let mut i = 0;
    while i < 8 {
        if value <= ends[i] {
            return i;
        }
        i += 1;
    }
    8
}

/// Linear 16-bit → µ-law. Positive zero encodes as 0xFF (µ-law also has 0x7F, "negative zero").
pub const fn linear_to_ulaw(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 2; // 14-bit
    let mask: i32 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    if v > ULAW_CLIP {
        v = ULAW_CLIP;
    }
    v += ULAW_BIAS >> 2;
    let seg = segment(v, &SEG_UEND);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let code = ((seg as i32) << 4) | ((v >> (seg + 1)) & 0x0F);
    (code ^ mask) as u8
}

/// µ-law → linear 16-bit (G.711 Table 2a values scaled to 16 bits: 0x80 → 32124, 0xFF → 0).
pub const fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code as i32;
    let mut t = ((u & 0x0F) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    let v = t - ULAW_BIAS;
    if u & 0x80 != 0 { -v as i16 } else { v as i16 }
}

/// Linear 16-bit → A-law (13-bit magnitude, even bits inverted per G.711).
pub const fn linear_to_alaw(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 3; // 13-bit
    let mask: i32 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &SEG_AEND);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut code = (seg as i32) << 4;
    if seg < 2 {
        code |= (v >> 1) & 0x0F;
    } else {
        code |= (v >> seg) & 0x0F;
    }
    (code ^ mask) as u8
}

/// A-law → linear 16-bit (0xD5 → 8, 0x55 → -8, 0xAA → 32256).
pub const fn alaw_to_linear(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn decode_table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_to_linear(i as u8)
        } else {
            ulaw_to_linear(i as u8)
        };
        i += 1;
    }
    t
}

const fn transcode_table(from_alaw: bool) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if from_alaw {
            linear_to_ulaw(alaw_to_linear(i as u8))
        } else {
            linear_to_alaw(ulaw_to_linear(i as u8))
        };
        i += 1;
    }
    t
}

static ULAW_TO_LINEAR: [i16; 256] = decode_table(false);
static ALAW_TO_LINEAR: [i16; 256] = decode_table(true);
static ULAW_TO_ALAW: [u8; 256] = transcode_table(false);
static ALAW_TO_ULAW: [u8; 256] = transcode_table(true);

/// Mixes `b` into `a` sample by sample with saturation (no wrap-around clicks when two loud
/// talkers overlap). Mixes `min(a.len(), b.len())` samples.
pub fn mix_into(a: &mut [i16], b: &[i16]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.saturating_add(*y);
    }
}

/// Interleaves two mono channels into stereo frames `[l0, r0, l1, r1, …]` (WAV sample order).
/// Writes `min(left.len(), right.len(), out.len() / 2)` frames and returns that count.
pub fn interleave(left: &[i16], right: &[i16], out: &mut [i16]) -> usize {
    let mut n = 0;
    for ((l, r), o) in left.iter().zip(right).zip(out.chunks_exact_mut(2)) {
        o[0] = *l;
        o[1] = *r;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_code_points_decode_to_itu_values() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        // First step of the first segment: 2 quantum of 4 in 16-bit = 8 (14-bit value 2).
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        // Segment boundary: 0xF0 is the top of segment 0, 0xEF the bottom of segment 1.
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(ulaw_to_linear(0xEF), 132);
    }

    #[test]
    fn alaw_reference_code_points_decode_to_itu_values() {
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
    }

    #[test]
    fn silence_encodes_to_the_idle_codes() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(Codec::Pcmu.silence(), linear_to_ulaw(0));
        assert_eq!(Codec::Pcma.silence(), linear_to_alaw(0));
    }

    #[test]
    fn full_scale_saturates_to_the_extreme_codes() {
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn every_ulaw_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            let back = linear_to_ulaw(ulaw_to_linear(code));
            // 0x7F is µ-law's negative zero; linear 0 encodes as positive zero 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(back, expected, "code {code:#04x}");
        }
    }

    #[test]
    fn every_alaw_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "code {code:#04x}"
            );
        }
    }

    #[test]
    fn decode_is_monotonic_within_each_sign() {
        // µ-law codes 0x80..=0xFF run from +32124 down to 0.
        for c in 0x80..0xFFu8 {
            assert!(ulaw_to_linear(c) > ulaw_to_linear(c + 1));
        }
        // A-law positive values grow with the code once the 0x55 inversion is undone.
        let mut prev = -1;
        for raw in 0x80..=0xFFu8 {
            let v = alaw_to_linear(raw ^ 0x55);
            assert!(i32::from(v) > prev);
            prev = i32::from(v);
        }
    }

    #[test]
    fn encoding_error_stays_within_one_quantisation_step() {
        // The decoded value is a level of the input's own segment, so the error stays below
        // that segment's step (1024 in the top segment of either law, 16 or less below 256).
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
            let a = i32::from(alaw_to_linear(linear_to_alaw(s)));
            let sv = i32::from(s);
            assert!((u - sv).abs() <= 1024, "µ-law {s} -> {u}");
            assert!((a - sv).abs() <= 1024, "A-law {s} -> {a}");
            // Small signals are exact to a few units: the whole point of companding.
            if sv.abs() < 256 {
                assert!((u - sv).abs() <= 16, "µ-law small {s} -> {u}");
                assert!((a - sv).abs() <= 16, "A-law small {s} -> {a}");
            }
        }
    }

    #[test]
    fn transcoding_tables_preserve_level_and_sign() {
        for code in 0..=255u8 {
            let mut buf = [code];
            Codec::Pcmu.transcode_in_place(Codec::Pcma, &mut buf);
            let before = i32::from(ulaw_to_linear(code));
            let after = i32::from(alaw_to_linear(buf[0]));
            // One A-law step of the segment the value lands in, at most.
            let tolerance = (before.abs() / 16).max(16);
            assert!(
                (before - after).abs() <= tolerance,
                "{code:#04x}: {before} vs {after}"
            );
            let mut buf = [code];
            Codec::Pcma.transcode_in_place(Codec::Pcmu, &mut buf);
            let before = i32::from(alaw_to_linear(code));
            let after = i32::from(ulaw_to_linear(buf[0]));
            let tolerance = (before.abs() / 16).max(16);
            assert!(
                (before - after).abs() <= tolerance,
                "{code:#04x}: {before} vs {after}"
            );
        }
    }

    #[test]
    fn transcoding_to_the_same_law_is_identity() {
        let mut buf = [0x12, 0x80, 0xFF];
        Codec::Pcmu.transcode_in_place(Codec::Pcmu, &mut buf);
        assert_eq!(buf, [0x12, 0x80, 0xFF]);
    }

    #[test]
    fn slice_encode_and_decode_agree_with_sample_functions() {
        let pcm: Vec<i16> = (0..160)
            .map(|i| ((i * 397) % 65536 - 32768) as i16)
            .collect();
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut enc = [0u8; 160];
            assert_eq!(codec.encode(&pcm, &mut enc), 160);
            let mut dec = [0i16; 160];
            assert_eq!(codec.decode(&enc, &mut dec), 160);
            for i in 0..160 {
                assert_eq!(enc[i], codec.encode_sample(pcm[i]));
                assert_eq!(dec[i], codec.decode_sample(enc[i]));
            }
        }
    }

    #[test]
    fn mixing_saturates_instead_of_wrapping() {
        let mut a = [30000i16, -30000, 100, 0];
        mix_into(&mut a, &[10000, -10000, -50, 7]);
        assert_eq!(a, [i16::MAX, i16::MIN, 50, 7]);
    }

    #[test]
    fn interleave_puts_left_then_right() {
        let mut out = [0i16; 6];
        assert_eq!(interleave(&[1, 2, 3], &[-1, -2, -3], &mut out), 3);
        assert_eq!(out, [1, -1, 2, -2, 3, -3]);
    }

    #[test]
    fn payload_types_and_names_match_rfc_3551() {
        assert_eq!(Codec::from_payload_type(0), Some(Codec::Pcmu));
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(18), None);
        assert_eq!(Codec::from_encoding_name("pcma"), Some(Codec::Pcma));
        assert_eq!(Codec::Pcmu.encoding_name(), "PCMU");
    }
}
