//! Tests of the sibling module.
use super::*;
use proptest::prelude::*;

fn block(ssrc: u32) -> ReportBlock {
    ReportBlock {
        ssrc,
        fraction_lost: 64,
        cumulative_lost: -3,
        extended_highest_seq: 0x0001_0005,
        jitter: 42,
        last_sr: 0xDEAD_BEEF,
        delay_since_last_sr: 65536,
    }
}

#[test]
fn sender_report_sdes_and_bye_round_trip_in_one_compound() {
    let info = SenderInfo {
        ntp_time: NtpTime(0x0123_4567_89AB_CDEF),
        rtp_time: 160_000,
        packet_count: 1000,
        octet_count: 160_000,
    };
    let mut out = Vec::new();
    write_sender_report(&mut out, 0x1111, &info, &[block(0x2222), block(0x3333)]).unwrap();
    write_sdes_cname(&mut out, 0x1111, b"leg-7@switchboard").unwrap();
    write_bye(&mut out, &[0x1111], Some(b"call ended")).unwrap();
    assert_eq!(out.len() % 4, 0);

    let compound = Compound::parse(&out).unwrap();
    let packets: Vec<_> = compound.packets().collect();
    assert_eq!(packets.len(), 3);
    match &packets[0] {
        RtcpPacket::SenderReport {
            ssrc,
            info: got,
            reports,
        } => {
            assert_eq!(*ssrc, 0x1111);
            assert_eq!(*got, info);
            let blocks: Vec<_> = reports.clone().collect();
            assert_eq!(blocks, vec![block(0x2222), block(0x3333)]);
        }
        other => panic!("expected SR, got {other:?}"),
    }
    match &packets[1] {
        RtcpPacket::SourceDescription(items) => {
            let cname = items.clone().cname().unwrap();
            assert_eq!(cname.ssrc, 0x1111);
            assert_eq!(cname.text, b"leg-7@switchboard");
        }
        other => panic!("expected SDES, got {other:?}"),
    }
    match &packets[2] {
        RtcpPacket::Bye { sources, reason } => {
            assert_eq!(sources.clone().collect::<Vec<_>>(), vec![0x1111]);
            assert_eq!(*reason, Some(&b"call ended"[..]));
        }
        other => panic!("expected BYE, got {other:?}"),
    }
}

#[test]
fn empty_receiver_report_is_eight_bytes() {
    let mut out = Vec::new();
    write_receiver_report(&mut out, 7, &[]).unwrap();
    assert_eq!(out, [0x80, 201, 0, 1, 0, 0, 0, 7]);
}

#[test]
fn parses_a_hand_written_receiver_report() {
    // RR from SSRC 0x01020304 with one block: 25% lost (64/256), cumulative 2,
    // ext. highest seq 0x00010010, jitter 20, LSR 0x11223344, DLSR 0x00008000 (0.5 s).
    let bytes = [
        0x81, 201, 0, 7, 1, 2, 3, 4, //
        0xAA, 0xBB, 0xCC, 0xDD, 64, 0, 0, 2, 0, 1, 0, 0x10, 0, 0, 0, 20, //
        0x11, 0x22, 0x33, 0x44, 0, 0, 0x80, 0,
    ];
    let compound = Compound::parse(&bytes).unwrap();
    let Some(RtcpPacket::ReceiverReport { ssrc, mut reports }) = compound.packets().next() else {
        panic!("expected RR");
    };
    assert_eq!(ssrc, 0x0102_0304);
    let b = reports.next().unwrap();
    assert_eq!(b.ssrc, 0xAABB_CCDD);
    assert_eq!(b.fraction_lost, 64);
    assert_eq!(b.cumulative_lost, 2);
    assert_eq!(b.extended_highest_seq, 0x0001_0010);
    assert_eq!(b.jitter, 20);
    assert_eq!(b.last_sr, 0x1122_3344);
    assert_eq!(b.delay_since_last_sr, 0x8000);
    assert!(reports.next().is_none());
}

#[test]
fn compound_must_start_with_a_report() {
    let mut out = Vec::new();
    write_sdes_cname(&mut out, 1, b"x").unwrap();
    assert_eq!(
        Compound::parse(&out).unwrap_err(),
        RtcpError::FirstNotReport(202)
    );
}

#[test]
fn report_count_larger_than_packet_is_rejected() {
    let mut out = Vec::new();
    write_receiver_report(&mut out, 1, &[block(2)]).unwrap();
    out[0] = 0x82; // claims two blocks
    assert_eq!(
        Compound::parse(&out).unwrap_err(),
        RtcpError::ReportCount {
            packet_type: 201,
            count: 2
        }
    );
}

#[test]
fn length_past_the_datagram_is_truncation() {
    let bytes = [0x80, 201, 0, 9, 0, 0, 0, 1];
    assert!(matches!(
        Compound::parse(&bytes),
        Err(RtcpError::Truncated { needed: 40, .. })
    ));
}

#[test]
fn padding_is_only_allowed_on_the_last_packet() {
    let mut out = Vec::new();
    write_receiver_report(&mut out, 1, &[]).unwrap();
    write_sdes_cname(&mut out, 1, b"ab").unwrap();
    out[0] |= 0x20;
    assert_eq!(Compound::parse(&out).unwrap_err(), RtcpError::BadPadding);
}

#[test]
fn padded_last_packet_is_accepted() {
    let mut out = Vec::new();
    write_receiver_report(&mut out, 1, &[]).unwrap();
    // BYE with 4 bytes of padding: header says 2 words after the first.
    out.extend_from_slice(&[0xA1, 203, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4]);
    let c = Compound::parse(&out).unwrap();
    let bye = c.packets().nth(1).unwrap();
    let RtcpPacket::Bye { sources, reason } = bye else {
        panic!("expected BYE");
    };
    assert_eq!(sources.collect::<Vec<_>>(), vec![9]);
    assert_eq!(reason, None);
}

#[test]
fn version_other_than_two_is_rejected() {
    assert_eq!(
        Compound::parse(&[0x40, 201, 0, 1, 0, 0, 0, 1]).unwrap_err(),
        RtcpError::BadVersion(1)
    );
}

#[test]
fn too_many_blocks_cannot_be_written() {
    let blocks = vec![ReportBlock::default(); 32];
    let mut out = Vec::new();
    assert_eq!(
        write_receiver_report(&mut out, 1, &blocks),
        Err(RtcpBuildError::TooManyItems(32))
    );
}

#[test]
fn cumulative_loss_is_clamped_to_24_bits() {
    let mut out = Vec::new();
    let mut b = block(1);
    b.cumulative_lost = 10_000_000;
    write_receiver_report(&mut out, 1, &[b]).unwrap();
    let c = Compound::parse(&out).unwrap();
    let Some(RtcpPacket::ReceiverReport { mut reports, .. }) = c.packets().next() else {
        panic!()
    };
    assert_eq!(reports.next().unwrap().cumulative_lost, 0x7F_FFFF);
}

#[test]
fn ntp_time_from_unix_epoch_offset() {
    let t = NtpTime::from_unix(std::time::Duration::from_millis(1500));
    assert_eq!(t.0 >> 32, 2_208_988_801);
    assert_eq!(t.0 & 0xFFFF_FFFF, 0x8000_0000);
    assert_eq!(t.middle32(), ((2_208_988_801u64 << 16) as u32) | 0x8000);
    assert_eq!(
        duration_to_dlsr(std::time::Duration::from_millis(500)),
        0x8000
    );
}

fn arb_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7F_FFFF,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(ssrc, f, c, e, j, l, d)| ReportBlock {
            ssrc,
            fraction_lost: f,
            cumulative_lost: c,
            extended_highest_seq: e,
            jitter: j,
            last_sr: l,
            delay_since_last_sr: d,
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(c) = Compound::parse(&bytes) {
            for p in c.packets() {
                if let RtcpPacket::SourceDescription(items) = p { let _ = items.count(); }
            }
        }
    }

    #[test]
    fn built_compounds_parse_back_identically(
        ssrc in any::<u32>(),
        ntp in any::<u64>(),
        rtp in any::<u32>(),
        blocks in proptest::collection::vec(arb_block(), 0..31),
        cname in proptest::collection::vec(any::<u8>(), 0..255),
        bye in proptest::collection::vec(any::<u32>(), 0..31),
        reason in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..255)),
        sender in any::<bool>(),
    ) {
        let info = SenderInfo { ntp_time: NtpTime(ntp), rtp_time: rtp, packet_count: 3, octet_count: 480 };
        let mut out = Vec::new();
        if sender {
            write_sender_report(&mut out, ssrc, &info, &blocks).unwrap();
        } else {
            write_receiver_report(&mut out, ssrc, &blocks).unwrap();
        }
        write_sdes_cname(&mut out, ssrc, &cname).unwrap();
        write_bye(&mut out, &bye, reason.as_deref()).unwrap();
        let c = Compound::parse(&out).unwrap();
        let mut packets = c.packets();
        match packets.next().unwrap() {
            RtcpPacket::SenderReport { ssrc: s, info: i, reports } => {
                prop_assert!(sender);
                prop_assert_eq!(s, ssrc);
                prop_assert_eq!(i, info);
                prop_assert_eq!(reports.collect::<Vec<_>>(), blocks);
            }
            RtcpPacket::ReceiverReport { ssrc: s, reports } => {
                prop_assert!(!sender);
                prop_assert_eq!(s, ssrc);
                prop_assert_eq!(reports.collect::<Vec<_>>(), blocks);
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
        let RtcpPacket::SourceDescription(items) = packets.next().unwrap() else { panic!() };
        let items: Vec<_> = items.collect();
        prop_assert_eq!(items.len(), 1);
        prop_assert_eq!(items[0].text, &cname[..]);
        let RtcpPacket::Bye { sources, reason: r } = packets.next().unwrap() else { panic!() };
        prop_assert_eq!(sources.collect::<Vec<_>>(), bye);
        prop_assert_eq!(r, reason.as_deref());
        prop_assert!(packets.next().is_none());
    }
}
