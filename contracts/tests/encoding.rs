//! The canonical payload encoding: bytes as documented in `payload`, round trips, and
//! refusal of everything non-canonical (trailing bytes, oversize fields, unknown codes).

use proptest::prelude::*;
use weinong_contracts::{
    AccessRecord, Approval, AssessmentRequest, Call, CategorySet, Change, ConsentGrant, ConsentId,
    ConsentRevoke, DataCategory, EvidenceHash, FailRequest, FailureReason, FieldsHash, Genesis,
    Governance, MemberId, ModelId, Purpose, RequestId, ResultCommitment, ResultRecord, Role, kinds,
    limits,
};
use weinong_keys::{KeyId, KeyPair, SubjectPseudonym, sm3_digest};
use weinong_ledger::{DecodeError, Hash32, TxKind};

fn grant() -> ConsentGrant {
    ConsentGrant {
        consent: ConsentId::from_bytes([1; 32]),
        subject: SubjectPseudonym::from_bytes([2; 32]),
        grantee: KeyId::from_bytes([3; 32]),
        purpose: Purpose::PeriodicAssessment,
        categories: CategorySet::of(&[DataCategory::VitalSigns, DataCategory::LongTermCare]),
        valid_from: 0x0102_0304_0506_0708,
        valid_until: 0x1112_1314_1516_1718,
        evidence: EvidenceHash::from_bytes([4; 32]),
    }
}

#[test]
fn a_consent_grant_is_laid_out_as_documented() {
    // Assembled field by field from the table in `payload`'s docs.
    let mut want = vec![0x01];
    want.extend([1; 32]);
    want.extend([2; 32]);
    want.extend([3; 32]);
    want.push(2); // periodic assessment
    want.extend(((1u16 << 3) | (1 << 10)).to_be_bytes()); // vital signs, long-term care
    want.extend(0x0102_0304_0506_0708u64.to_be_bytes());
    want.extend(0x1112_1314_1516_1718u64.to_be_bytes());
    want.extend([4; 32]);
    let call = Call::ConsentGrant(grant());
    assert_eq!(call.encode().expect("encodes"), want);
    assert_eq!(call.kind(), TxKind(0x0100));
}

#[test]
fn approvals_sign_tag_consortium_sequence_and_change() {
    let change = Change::SetThreshold { k: 3 };
    let consortium = Hash32([9; 32]);
    let mut want = b"WNGV\x01".to_vec();
    want.extend([9; 32]);
    want.extend(7u64.to_be_bytes());
    want.extend([7, 0, 3]);
    assert_eq!(Governance::approved_bytes(&consortium, 7, &change), want);
    assert_eq!(change.encode(), vec![7, 0, 3]);
}

fn sample_calls() -> Vec<Call> {
    let key = KeyPair::generate();
    let sig = key.sign(b"x");
    vec![
        Call::ConsentGrant(grant()),
        Call::ConsentRevoke(ConsentRevoke {
            consent: ConsentId::from_bytes([5; 32]),
            evidence: EvidenceHash::from_bytes([6; 32]),
        }),
        Call::AccessRecord(AccessRecord {
            request: RequestId::from_bytes([7; 32]),
            node: MemberId(2),
            subject: SubjectPseudonym::from_bytes([8; 32]),
            categories: CategorySet::of(&[DataCategory::Falls]),
            consent: ConsentId::from_bytes([9; 32]),
            fields: FieldsHash::from_bytes([10; 32]),
        }),
        Call::AssessmentRequest(AssessmentRequest {
            request: RequestId::from_bytes([11; 32]),
            subject: SubjectPseudonym::from_bytes([12; 32]),
            purpose: Purpose::AdmissionAssessment,
            model: ModelId::from_bytes([13; 32]),
        }),
        Call::ResultRecord(ResultRecord {
            request: RequestId::from_bytes([14; 32]),
            model: ModelId::from_bytes([15; 32]),
            commitment: ResultCommitment::from_bytes([16; 32]),
        }),
        Call::FailRequest(FailRequest {
            request: RequestId::from_bytes([17; 32]),
            reason: FailureReason::DataUnavailable,
        }),
        Call::Governance(Governance {
            seq: 3,
            change: Change::BindRole {
                key: key.public_key().clone(),
                role: Role::Steward,
                valid_from: 5,
                valid_until: Some(9),
            },
            approvals: vec![Approval {
                admin: key.key_id(),
                signature: sig.clone(),
            }],
        }),
        Call::Governance(Governance {
            seq: 4,
            change: Change::RotateKey {
                old: KeyId::from_bytes([1; 32]),
                new: key.public_key().clone(),
                old_signature: sig,
            },
            approvals: vec![],
        }),
        Call::Governance(Governance {
            seq: 5,
            change: Change::RegisterModel {
                categories: CategorySet::of(&[DataCategory::Screens]),
                spec: b"spec".to_vec(),
            },
            approvals: vec![],
        }),
    ]
}

#[test]
fn every_call_round_trips_and_refuses_trailing_or_missing_bytes() {
    for call in sample_calls() {
        let bytes = call.encode().expect("encodes");
        assert_eq!(Call::decode(call.kind(), &bytes).expect("decodes"), call);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Call::decode(call.kind(), &longer),
            Err(DecodeError::TrailingBytes { count: 1, .. })
        ));
        for cut in 0..bytes.len() {
            assert!(
                Call::decode(call.kind(), &bytes[..cut]).is_err(),
                "{:?} cut at {cut} decoded",
                call.kind()
            );
        }
        let mut newer = bytes.clone();
        newer[0] = 2;
        assert!(matches!(
            Call::decode(call.kind(), &newer),
            Err(DecodeError::UnknownVersion { found: 2, .. })
        ));
    }
}

#[test]
fn unknown_codes_and_kinds_are_refused() {
    let bytes = Call::ConsentGrant(grant()).encode().expect("encodes");
    let purpose_at = 1 + 32 * 3;
    let mut bad = bytes.clone();
    bad[purpose_at] = 99;
    assert!(matches!(
        Call::decode(kinds::CONSENT_GRANT, &bad),
        Err(DecodeError::Invalid {
            reason: "unknown purpose code",
            ..
        })
    ));
    let mut bad = bytes.clone();
    bad[purpose_at + 1] = 0x80; // bit 15: no such category
    assert!(matches!(
        Call::decode(kinds::CONSENT_GRANT, &bad),
        Err(DecodeError::Invalid { .. })
    ));
    let mut bad = bytes.clone();
    bad[purpose_at + 1] = 0;
    bad[purpose_at + 2] = 0; // no category at all
    assert!(matches!(
        Call::decode(kinds::CONSENT_GRANT, &bad),
        Err(DecodeError::Invalid {
            reason: "empty set of data categories",
            ..
        })
    ));
    assert!(Call::decode(TxKind(0xF000), &bytes).is_err());
    assert!(Call::decode(TxKind(0x0400), &bytes).is_err());
    // "Timed out" is not a reason a transaction may give.
    let mut fail = vec![1];
    fail.extend([0; 32]);
    fail.push(FailureReason::TimedOut.code());
    assert!(Call::decode(kinds::FAIL_REQUEST, &fail).is_err());
}

#[test]
fn oversize_fields_are_refused_before_allocation() {
    // A model spec claiming 4 GiB.
    let mut bytes = vec![1];
    bytes.extend(0u64.to_be_bytes());
    bytes.push(8);
    bytes.extend(CategorySet::of(&[DataCategory::Falls]).bits().to_be_bytes());
    bytes.extend(u32::MAX.to_be_bytes());
    assert!(matches!(
        Call::decode(kinds::GOVERNANCE, &bytes),
        Err(DecodeError::TooLong {
            field: "model spec length",
            ..
        })
    ));
    // More approvals than the limit.
    let mut bytes = vec![1];
    bytes.extend(0u64.to_be_bytes());
    bytes.extend([7, 0, 1]);
    bytes.extend((limits::APPROVALS_MAX + 1).to_be_bytes());
    assert!(matches!(
        Call::decode(kinds::GOVERNANCE, &bytes),
        Err(DecodeError::TooLong {
            field: "approval count",
            ..
        })
    ));
    // Encoding refuses what decoding would refuse.
    let big = Call::Governance(Governance {
        seq: 0,
        change: Change::RegisterModel {
            categories: CategorySet::of(&[DataCategory::Falls]),
            spec: vec![0; limits::MODEL_SPEC_BYTES_MAX as usize + 1],
        },
        approvals: vec![],
    });
    assert!(big.encode().is_err());
}

#[test]
fn genesis_round_trips_and_names_the_consortium() {
    let keys: Vec<KeyPair> = (0..5).map(|_| KeyPair::generate()).collect();
    let genesis = Genesis {
        time_ms: 42,
        threshold: 2,
        members: vec![
            (MemberId(2), keys[0].public_key().clone()),
            (MemberId(1), keys[1].public_key().clone()),
        ],
        admins: vec![keys[2].public_key().clone(), keys[3].public_key().clone()],
        auditors: vec![],
        registrars: vec![keys[4].public_key().clone()],
    };
    let bytes = genesis.encode().expect("encodes");
    let back = Genesis::decode(&bytes).expect("decodes");
    assert_eq!(back.encode().expect("encodes"), bytes);
    assert_eq!(back.members[0].0, MemberId(1), "members are sorted");
    assert_eq!(
        genesis.consortium().expect("id"),
        Hash32(sm3_digest(&bytes))
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Genesis::decode(&longer).is_err());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(kind in prop::sample::select(vec![0x0001u16, 0x0100, 0x0101, 0x0200, 0x0300, 0x0301, 0x0302, 0x0400]),
                                   bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Call::decode(TxKind(kind), &bytes);
        let _ = Genesis::decode(&bytes);
    }

    #[test]
    fn flipping_any_byte_never_decodes_to_the_same_call(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        for call in sample_calls().into_iter().take(6) {
            let mut bytes = call.encode().expect("encodes");
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
            if let Ok(other) = Call::decode(call.kind(), &bytes) {
                prop_assert_ne!(other, call);
            }
        }
    }
}
