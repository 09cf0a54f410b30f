//! Call ids: UUIDv7 (RFC 9562 §5.7), time-ordered, made from the wall clock and a seeded RNG.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

/// A new UUIDv7: 48 bits of Unix milliseconds, version 7, 74 random bits, variant `10`.
pub(crate) fn uuid_v7(wall: SystemTime, rng: &mut impl Rng) -> u128 {
    let ms = wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()) as u64 & 0xFFFF_FFFF_FFFF;
    let random: u128 = rng.random();
    let mut value = u128::from(ms) << 80;
    value |= 0x7u128 << 76; // version
    value |= (random >> 54) & (0xFFFu128 << 64); // rand_a: 12 bits
    value |= 0b10u128 << 62; // variant
    value |= random & ((1u128 << 62) - 1); // rand_b: 62 bits
    value
}

/// The canonical text form, `8-4-4-4-12` lowercase hex.
pub(crate) fn uuid_text(value: u128) -> String {
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::time::Duration;

    #[test]
    fn uuid_v7_has_version_variant_and_orders_by_time() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let a = uuid_v7(t, &mut rng);
        let b = uuid_v7(t + Duration::from_millis(1), &mut rng);
        assert!(a < b);
        let text = uuid_text(a);
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "7");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
        assert_eq!((a >> 80) as u64, 1_700_000_000_000);
    }
}
