//! WAV files: reading prompts, writing call recordings.
//!
//! Our own RIFF code rather than `hound` (research sip-rtp.md §1.4): hound returns
//! `Unsupported` for µ-law (format tag 7) and A-law (tag 6) WAV, which is what telephony
//! prompt sets commonly ship, so a G.711 reader was needed anyway; with it the PCM16 case is a
//! few more lines of the same chunk walk, and the writer is a 44-byte header. One parser for
//! every prompt format, no second dependency.
//!
//! Reading ([`PromptAudio::from_wav`]): 8 kHz mono PCM16, µ-law or A-law, plain or
//! `WAVE_FORMAT_EXTENSIBLE`; unknown chunks (LIST, fact…) skipped; a data size larger than the
//! file (a writer that never patched its header) is clamped to what is there. The audio is
//! stored pre-encoded in *both* laws so playback hands out 160-byte slices with no per-frame
//! work, whichever law a leg negotiated.
//!
//! Writing ([`WavWriter`]): stereo PCM16 at 8 kHz (caller left, agent right). The header goes
//! out first with placeholder sizes (0xFFFFFFFF, which streaming-aware readers treat as "to end
//! of file", so a recording cut short by a crash stays playable), samples are appended as they
//! come, and [`WavWriter::finish`] seeks back and patches the RIFF and data sizes. Nothing but
//! one reusable conversion buffer is held in memory, however long the call.

use std::io::{self, Read, Seek, SeekFrom, Write};

use thiserror::Error;

use crate::g711::{Codec, alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};

const FORMAT_PCM: u16 = 1;
const FORMAT_ALAW: u16 = 6;
const FORMAT_MULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The sample rate of every prompt and recording.
pub const SAMPLE_RATE: u32 = 8000;

/// Why a WAV file cannot be used as a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WavError {
    /// Not a RIFF/WAVE file.
    #[error("not a RIFF WAVE file")]
    NotWave,
    /// A chunk header or the fmt chunk is cut short.
    #[error("truncated {0} chunk")]
    Truncated(&'static str),
    /// No fmt chunk before the data.
    #[error("no fmt chunk")]
    MissingFormat,
    /// No data chunk.
    #[error("no data chunk")]
    MissingData,
    /// A format we do not play: we need 8 kHz mono PCM16, µ-law or A-law.
    #[error(
        "unsupported WAV format: tag {format_tag}, {channels} channel(s), {sample_rate} Hz, {bits} bits (need 8000 Hz mono PCM16, µ-law or A-law)"
    )]
    Unsupported {
        /// The format tag (1 PCM, 6 A-law, 7 µ-law, 0xFFFE extensible).
        format_tag: u16,
        /// Channels.
        channels: u16,
        /// Sample rate.
        sample_rate: u32,
        /// Bits per sample.
        bits: u16,
    },
}

/// A prompt's audio, ready to play on a leg of either law.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromptAudio {
    ulaw: Vec<u8>,
    alaw: Vec<u8>,
}

impl PromptAudio {
    /// Builds a prompt from linear samples.
    pub fn from_pcm(samples: &[i16]) -> PromptAudio {
        PromptAudio {
            ulaw: samples.iter().map(|s| linear_to_ulaw(*s)).collect(),
            alaw: samples.iter().map(|s| linear_to_alaw(*s)).collect(),
        }
    }

    /// Parses a WAV file's bytes.
    pub fn from_wav(bytes: &[u8]) -> Result<PromptAudio, WavError> {
        let (format, data) = read_chunks(bytes)?;
        Ok(match format {
            Format::Pcm16 => {
                let mut ulaw = Vec::with_capacity(data.len() / 2);
                let mut alaw = Vec::with_capacity(data.len() / 2);
                for pair in data.chunks_exact(2) {
                    let s = i16::from_le_bytes([pair[0], pair[1]]);
                    ulaw.push(linear_to_ulaw(s));
                    alaw.push(linear_to_alaw(s));
                }
                PromptAudio { ulaw, alaw }
            }
            // Each law is kept as recorded; the other is derived through linear.
            Format::Mulaw => PromptAudio {
                ulaw: data.to_vec(),
                alaw: data
                    .iter()
                    .map(|c| linear_to_alaw(ulaw_to_linear(*c)))
                    .collect(),
            },
            Format::Alaw => PromptAudio {
                ulaw: data
                    .iter()
                    .map(|c| linear_to_ulaw(alaw_to_linear(*c)))
                    .collect(),
                alaw: data.to_vec(),
            },
        })
    }

    /// Length in samples (8 kHz).
    pub fn len(&self) -> usize {
        self.ulaw.len()
    }

    /// Whether the prompt has no audio.
    pub fn is_empty(&self) -> bool {
        self.ulaw.is_empty()
    }

    /// Duration of the prompt.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The encoded audio in `codec`'s law.
    pub fn encoded(&self, codec: Codec) -> &[u8] {
        match codec {
            Codec::Pcmu => &self.ulaw,
            Codec::Pcma => &self.alaw,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pcm16,
    Mulaw,
    Alaw,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn read_chunks(bytes: &[u8]) -> Result<(Format, &[u8]), WavError> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(WavError::NotWave);
    }
    let mut rest = bytes.get(12..).unwrap_or_default();
    let mut format = None;
    while rest.len() >= 8 {
        let id = &rest[0..4];
        let declared = le32(rest, 4).ok_or(WavError::Truncated("chunk header"))? as usize;
        let body_all = &rest[8..];
        if id == b"data" {
            let format = format.ok_or(WavError::MissingFormat)?;
            // A size past the end: a writer that never patched its header. Take what is there.
            let len = declared.min(body_all.len());
            let mut data = &body_all[..len];
            if format == Format::Pcm16 && data.len() % 2 == 1 {
                data = &data[..data.len() - 1];
            }
            return Ok((format, data));
        }
        let what = if id == b"fmt " { "fmt" } else { "RIFF" };
        let body = body_all.get(..declared).ok_or(WavError::Truncated(what))?;
        if id == b"fmt " {
            format = Some(parse_format(body)?);
        }
        // Chunks are padded to an even size (RIFF).
        let next = 8 + declared + (declared & 1);
        rest = rest.get(next..).unwrap_or_default();
    }
    Err(if format.is_some() {
        WavError::MissingData
    } else {
        WavError::MissingFormat
    })
}

fn parse_format(fmt: &[u8]) -> Result<Format, WavError> {
    let truncated = WavError::Truncated("fmt");
    let mut tag = le16(fmt, 0).ok_or(truncated.clone())?;
    let channels = le16(fmt, 2).ok_or(truncated.clone())?;
    let sample_rate = le32(fmt, 4).ok_or(truncated.clone())?;
    let bits = le16(fmt, 14).ok_or(truncated.clone())?;
    if tag == FORMAT_EXTENSIBLE {
        // cbSize(2) validBits(2) channelMask(4), then the SubFormat GUID whose first two
        // bytes are the real format tag.
        tag = le16(fmt, 24).ok_or(truncated)?;
    }
    let format = match (tag, bits) {
        (FORMAT_PCM, 16) => Some(Format::Pcm16),
        (FORMAT_MULAW, 8) => Some(Format::Mulaw),
        (FORMAT_ALAW, 8) => Some(Format::Alaw),
        _ => None,
    };
    match format {
        Some(f) if channels == 1 && sample_rate == SAMPLE_RATE => Ok(f),
        _ => Err(WavError::Unsupported {
            format_tag: tag,
            channels,
            sample_rate,
            bits,
        }),
    }
}

/// The 44-byte canonical header of a PCM16 WAV with `channels` at 8 kHz and `data_len` bytes.
pub fn pcm16_header(channels: u16, data_len: u32) -> [u8; 44] {
    let block_align = channels * 2;
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&FORMAT_PCM.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(SAMPLE_RATE * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// Largest data chunk a RIFF size field can describe.
const MAX_DATA: u64 = u32::MAX as u64 - 36;

/// Streams a stereo PCM16 8 kHz recording to `W`, patching sizes on [`WavWriter::finish`].
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    out: W,
    data_len: u64,
    scratch: Vec<u8>,
}

/// The interleaving buffer's starting size: one 100 ms drain of stereo PCM16 (it grows if a
/// drain brings more). A second of audio reserved per recording was 32 KiB per call.
const SCRATCH: usize = 4 * 160 * 5;

impl<W: Write + Seek> WavWriter<W> {
    /// Writes the header with placeholder sizes.
    pub fn new(mut out: W) -> io::Result<WavWriter<W>> {
        let mut header = pcm16_header(2, u32::MAX);
        header[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        out.write_all(&header)?;
        Ok(WavWriter {
            out,
            data_len: 0,
            scratch: Vec::with_capacity(SCRATCH),
        })
    }

    /// Goes on with a recording made earlier by a `WavWriter` (one call recorded in parts,
    /// e.g. before and after a blind transfer): `out` is that file and `data_len` its audio
    /// bytes as [`stereo_data_len`] measured them; new frames follow them.
    pub fn resume(mut out: W, data_len: u64) -> io::Result<WavWriter<W>> {
        out.seek(SeekFrom::Start(44 + data_len))?;
        Ok(WavWriter {
            out,
            data_len,
            scratch: Vec::with_capacity(SCRATCH),
        })
    }

    /// Bytes of audio written so far.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Appends frames: `left[i]` and `right[i]` form frame `i`; the shorter side is padded
    /// with silence so the channels never drift apart.
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> io::Result<()> {
        let frames = left.len().max(right.len());
        let bytes = frames as u64 * 4;
        if self.data_len + bytes > MAX_DATA {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "WAV data chunk would exceed 4 GiB",
            ));
        }
        self.scratch.clear();
        for i in 0..frames {
            let l = left.get(i).copied().unwrap_or(0);
            let r = right.get(i).copied().unwrap_or(0);
            self.scratch.extend_from_slice(&l.to_le_bytes());
            self.scratch.extend_from_slice(&r.to_le_bytes());
        }
        self.out.write_all(&self.scratch)?;
        self.data_len += bytes;
        Ok(())
    }

    /// Patches the sizes, flushes, and hands back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let len = self.data_len as u32;
        self.out.seek(SeekFrom::Start(4))?;
        self.out.write_all(&len.saturating_add(36).to_le_bytes())?;
        self.out.seek(SeekFrom::Start(40))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The audio bytes (whole stereo frames) of a recording [`WavWriter`] wrote, for
/// [`WavWriter::resume`]. A header still holding the placeholder sizes (the writer never
/// finished: the process died) counts everything up to the end of the file. Anything but the
/// canonical stereo PCM16 8 kHz header is refused with `InvalidData`, so a foreign file is
/// never appended to.
pub fn stereo_data_len<R: Read + Seek>(file: &mut R) -> io::Result<u64> {
    let mut header = [0u8; 44];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut header)?;
    let canonical = pcm16_header(2, 0);
    if header.get(..4) != canonical.get(..4) || header.get(8..40) != canonical.get(8..40) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a stereo PCM16 8 kHz recording",
        ));
    }
    let declared = u64::from(u32::from_le_bytes([
        header[40], header[41], header[42], header[43],
    ]));
    let available = file.seek(SeekFrom::End(0))?.saturating_sub(44);
    let len = if declared == u64::from(u32::MAX) {
        available
    } else {
        declared.min(available)
    };
    Ok(len / 4 * 4)
}

/// Reads a stereo PCM16 WAV's samples back as (left, right): for tests and tooling.
pub fn read_stereo_pcm16(bytes: &[u8]) -> Option<(Vec<i16>, Vec<i16>)> {
    if le16(bytes, 22)? != 2 || le16(bytes, 20)? != FORMAT_PCM {
        return None;
    }
    let len = le32(bytes, 40)? as usize;
    let data = bytes.get(44..44 + len)?;
    let mut left = Vec::with_capacity(len / 4);
    let mut right = Vec::with_capacity(len / 4);
    for f in data.chunks_exact(4) {
        left.push(i16::from_le_bytes([f[0], f[1]]));
        right.push(i16::from_le_bytes([f[2], f[3]]));
    }
    Some((left, right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn mono_wav(tag: u16, bits: u16, rate: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(4 + 8 + 16 + 8 + 26 + 8 + data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVE");
        v.extend_from_slice(b"fmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(bits / 8)).to_le_bytes());
        v.extend_from_slice(&(bits / 8).to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        // An odd-sized LIST chunk, padded, that readers must skip.
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&25u32.to_le_bytes());
        v.extend_from_slice(&[b'x'; 26]);
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_pcm16_prompts_into_both_laws() {
        let samples: [i16; 4] = [0, 1000, -1000, 32000];
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let p = PromptAudio::from_wav(&mono_wav(1, 16, 8000, &data)).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.encoded(Codec::Pcmu)[0], 0xFF);
        assert_eq!(p.encoded(Codec::Pcma)[0], 0xD5);
        assert_eq!(p.encoded(Codec::Pcmu)[1], linear_to_ulaw(1000));
        assert_eq!(p.encoded(Codec::Pcma)[3], linear_to_alaw(32000));
    }

    #[test]
    fn reads_ulaw_and_alaw_prompts_keeping_the_recorded_law() {
        let codes = [0x80u8, 0xFF, 0x00, 0x7E];
        let u = PromptAudio::from_wav(&mono_wav(7, 8, 8000, &codes)).unwrap();
        assert_eq!(u.encoded(Codec::Pcmu), codes);
        assert_eq!(u.encoded(Codec::Pcma)[1], 0xD5);
        let a = PromptAudio::from_wav(&mono_wav(6, 8, 8000, &codes)).unwrap();
        assert_eq!(a.encoded(Codec::Pcma), codes);
        assert_eq!(a.duration(), std::time::Duration::from_micros(500));
    }

    #[test]
    fn extensible_format_uses_the_subformat_tag() {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        v.extend_from_slice(&40u32.to_le_bytes());
        v.extend_from_slice(&0xFFFEu16.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&8000u32.to_le_bytes());
        v.extend_from_slice(&16000u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(&22u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes()); // SubFormat PCM
        v.extend_from_slice(&[0; 14]);
        v.extend_from_slice(b"data");
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&[0, 0, 0x10, 0]);
        assert_eq!(PromptAudio::from_wav(&v).unwrap().len(), 2);
    }

    #[test]
    fn unpatched_data_size_is_clamped_to_the_file() {
        let mut v = mono_wav(7, 8, 8000, &[1, 2, 3]);
        let n = v.len();
        v[n - 7..n - 3].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(PromptAudio::from_wav(&v).unwrap().len(), 3);
    }

    #[test]
    fn formats_we_cannot_play_are_refused_precisely() {
        assert_eq!(
            PromptAudio::from_wav(&mono_wav(1, 16, 16000, &[0, 0])),
            Err(WavError::Unsupported {
                format_tag: 1,
                channels: 1,
                sample_rate: 16000,
                bits: 16
            })
        );
        assert_eq!(
            PromptAudio::from_wav(&mono_wav(3, 32, 8000, &[0; 4])).unwrap_err(),
            WavError::Unsupported {
                format_tag: 3,
                channels: 1,
                sample_rate: 8000,
                bits: 32
            }
        );
        assert_eq!(
            PromptAudio::from_wav(b"RIFX\0\0\0\0WAVE"),
            Err(WavError::NotWave)
        );
        assert_eq!(
            PromptAudio::from_wav(b"RIFF\0\0\0\0WAVE"),
            Err(WavError::MissingFormat)
        );
        assert_eq!(
            PromptAudio::from_wav(b"RIFF\0\0\0\0WAVEdata\x02\0\0\0ab"),
            Err(WavError::MissingFormat)
        );
    }

    #[test]
    fn recording_streams_and_patches_sizes_on_finish() {
        let mut w = WavWriter::new(Cursor::new(Vec::new())).unwrap();
        let left: Vec<i16> = (0..160).map(|i| i * 10).collect();
        let right: Vec<i16> = (0..160).map(|i| -i).collect();
        for _ in 0..50 {
            w.write_stereo(&left, &right).unwrap();
        }
        // Agent silent for a frame but the caller talks: the right side is padded.
        w.write_stereo(&left, &[]).unwrap();
        assert_eq!(w.data_len(), 51 * 160 * 4);
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(bytes.len(), 44 + 51 * 640);
        assert_eq!(&bytes[..44], &pcm16_header(2, 51 * 640));
        let (l, r) = read_stereo_pcm16(&bytes).unwrap();
        assert_eq!(l.len(), 51 * 160);
        assert_eq!(&l[160..320], &left[..]);
        assert_eq!(&r[160..320], &right[..]);
        assert!(r[50 * 160..].iter().all(|s| *s == 0));
    }

    #[test]
    fn an_unfinished_recording_is_still_readable_to_the_end() {
        let mut w = WavWriter::new(Cursor::new(Vec::new())).unwrap();
        w.write_stereo(&[1, 2], &[3, 4]).unwrap();
        let bytes = w.out.into_inner();
        assert_eq!(&bytes[40..44], &u32::MAX.to_le_bytes());
        assert_eq!(bytes.len(), 44 + 8);
    }

    #[test]
    fn a_resumed_recording_keeps_the_first_part_and_appends_the_second() {
        let mut first = WavWriter::new(Cursor::new(Vec::new())).unwrap();
        first.write_stereo(&[1; 160], &[2; 160]).unwrap();
        let mut file = first.finish().unwrap();
        let len = stereo_data_len(&mut file).unwrap();
        assert_eq!(len, 640);
        let mut second = WavWriter::resume(file, len).unwrap();
        second.write_stereo(&[3; 80], &[4; 80]).unwrap();
        assert_eq!(second.data_len(), 640 + 320);
        let bytes = second.finish().unwrap().into_inner();
        assert_eq!(&bytes[..44], &pcm16_header(2, 960));
        let (l, r) = read_stereo_pcm16(&bytes).unwrap();
        assert_eq!(l.len(), 240);
        assert!(l[..160].iter().all(|s| *s == 1) && l[160..].iter().all(|s| *s == 3));
        assert!(r[..160].iter().all(|s| *s == 2) && r[160..].iter().all(|s| *s == 4));
    }

    #[test]
    fn an_unfinished_recording_resumes_after_its_last_whole_frame() {
        let mut w = WavWriter::new(Cursor::new(Vec::new())).unwrap();
        w.write_stereo(&[1, 2], &[3, 4]).unwrap();
        let mut bytes = w.out.into_inner();
        bytes.push(0x55); // half a frame, written when the process died
        assert_eq!(stereo_data_len(&mut Cursor::new(bytes)).unwrap(), 8);
    }

    #[test]
    fn a_foreign_file_is_not_resumed() {
        let mono = pcm16_header(1, 0).to_vec();
        let err = stereo_data_len(&mut Cursor::new(mono)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = stereo_data_len(&mut Cursor::new(b"RIFF".to_vec())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = PromptAudio::from_wav(&bytes);
            let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
            v.extend_from_slice(&bytes);
            let _ = PromptAudio::from_wav(&v);
            let _ = read_stereo_pcm16(&bytes);
        }

        #[test]
        fn pcm16_prompt_round_trips_through_our_header(samples in proptest::collection::vec(any::<i16>(), 0..400)) {
            let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            let mut file = pcm16_header(1, data.len() as u32).to_vec();
            file.extend_from_slice(&data);
            prop_assert_eq!(PromptAudio::from_wav(&file).unwrap(), PromptAudio::from_pcm(&samples));
        }
    }
}
