//! A small deterministic mutator for the stable smoke test: libFuzzer's cheap mutations
//! (bit flips, interesting bytes, inserted and erased runs, duplicated and spliced chunks,
//! dictionary tokens) driven by a seeded xorshift, so every run tries the same inputs.

/// Tokens that reach deeper than random bytes: protocol punctuation and boundary numbers.
const DICTIONARY: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\r\n ",
    b":",
    b";",
    b",",
    b"\"",
    b"<",
    b">",
    b"=",
    b"%",
    b"\\",
    b"[",
    b"]",
    b"{",
    b"}",
    b"#",
    b"\0",
    b"0",
    b"-1",
    b"4294967296",
    b"18446744073709551616",
    b"65535",
    b"Content-Length: ",
    b"l: 99999",
    b"Via: SIP/2.0/UDP ",
    b"sip:",
    b"SIP/2.0",
    b"m=audio ",
    b"a=rtpmap:",
    b"c=IN IP6 ",
    b"telephone-event/8000",
    b"Digest ",
    b"nc=",
    b"qop=auth",
    b"algorithm=MD5-sess",
    b"type = \"goto\"",
    b"next = \"",
    b"[nodes.x]\n",
    b"[[queue]]\n",
    b"\xc3\xa9",
    b"\xff\xfe",
];

/// A seeded source of mutated inputs.
#[derive(Debug, Clone)]
pub struct Mutator {
    state: u64,
}

impl Mutator {
    /// A mutator whose sequence depends only on `seed`.
    pub fn new(seed: u64) -> Mutator {
        Mutator {
            state: seed ^ 0x9E37_79B9_7F4A_7C15 | 1,
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// `input` with one to eight mutations applied; `other` is a second seed to splice from.
    /// The result is at most `max_len` bytes long.
    pub fn mutate(&mut self, input: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..1 + self.below(8) {
            let at = self.below(out.len() + 1);
            match self.below(9) {
                0 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] ^= 1 << self.below(8);
                }
                1 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] = [0, 1, 0x7F, 0x80, 0xFF, b' ', b'\t', b'\r', b'\n'][self.below(9)];
                }
                2 => {
                    let token = DICTIONARY[self.below(DICTIONARY.len())];
                    out.splice(at..at, token.iter().copied());
                }
                3 => {
                    let end = (at + 1 + self.below(16)).min(out.len());
                    out.drain(at..end);
                }
                4 => {
                    let len = self.below(32);
                    let end = (at + len).min(out.len());
                    let chunk = out[at..end].to_vec();
                    let times = 1 + self.below(4);
                    for _ in 0..times {
                        out.splice(at..at, chunk.iter().copied());
                    }
                }
                5 if !other.is_empty() => {
                    let from = self.below(other.len());
                    let end = (from + 1 + self.below(64)).min(other.len());
                    out.splice(at..at, other[from..end].iter().copied());
                }
                6 => out.truncate(at),
                7 => {
                    let byte = (self.next() & 0xFF) as u8;
                    out.insert(at, byte);
                }
                _ => {
                    // Replace an ASCII number with a boundary value.
                    let digits = out.iter().skip(at).position(u8::is_ascii_digit);
                    if let Some(start) = digits.map(|d| at + d) {
                        let len = out[start..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                        let number: &[u8] =
                            [&b"0"[..], b"4294967295", b"65536", b"99999999999999999999"]
                                [self.below(4)];
                        out.splice(start..start + len, number.iter().copied());
                    }
                }
            }
        }
        out.truncate(max_len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let (mut a, mut b) = (Mutator::new(7), Mutator::new(7));
        for _ in 0..100 {
            assert_eq!(
                a.mutate(b"INVITE sip:x SIP/2.0", b"v=0", 256),
                b.mutate(b"INVITE sip:x SIP/2.0", b"v=0", 256)
            );
        }
    }

    #[test]
    fn mutations_respect_the_length_cap() {
        let mut m = Mutator::new(1);
        let mut input = vec![b'a'; 100];
        for _ in 0..500 {
            input = m.mutate(&input, b"0123456789", 120);
            assert!(input.len() <= 120);
        }
    }
}
