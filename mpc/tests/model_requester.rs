//! Outputs for a requester outside the three parties: each party builds its inputs from its
//! own department's columns only, evaluates to an additive output share, the shares travel
//! as bytes, and the requester's reconstruction equals the plaintext reference. Corrupt,
//! mismatched and hostile shares and input columns are refused with the right typed error.

mod model_support;

use proptest::prelude::*;

use weinong_mpc::model::limits::{OUTPUT_COLUMNS_MAX, OUTPUT_SUBJECTS_MAX};
use weinong_mpc::model::requester::{SHARE_FORMAT_VERSION, SHARE_HEADER_BYTES, SHARE_MAGIC};
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{
    ADMISSION_V1, Holder, InputBatch, InputError, InputSource, Model, OutputShare, PERIODIC_V1,
    PartyInputs, ReconstructError, ShareDecodeError, ValueType, evaluate_party_for_requester,
    evaluate_plain, reconstruct,
};
use weinong_mpc::{MpcError, PartyId, run_three, run_three_each};

use model_support::model;

/// The columns of `batch` that `holder` holds, as a node that has only those would pass them.
fn own_columns(model: &Model, batch: &InputBatch, holder: Holder) -> Vec<(usize, Vec<i64>)> {
    let mut columns = Vec::new();
    for (index, input) in model.inputs().iter().enumerate() {
        if input.holder == holder {
            columns.push((index, batch.column(index).to_vec()));
        }
    }
    columns
}

/// Runs the three parties, each on its own columns only, and returns their output shares.
fn shares_of(model: &Model, batch: &InputBatch) -> [OutputShare; 3] {
    run_three(|party| {
        let holder = Holder::ALL[party.id().index()];
        let own = PartyInputs::from_columns(
            model,
            holder,
            batch.len(),
            own_columns(model, batch, holder),
        )
        .map_err(|e| MpcError::Setup {
            reason: e.to_string(),
        })?;
        evaluate_party_for_requester(party, model, batch.len(), &own)
    })
    .expect("three honest parties")
}

/// The shares through their byte encoding, as the requester receives them.
fn through_bytes(shares: &[OutputShare]) -> Vec<OutputShare> {
    shares
        .iter()
        .map(|s| OutputShare::from_bytes(&s.to_bytes()).expect("a share decodes"))
        .collect()
}

fn check_requester_path(source: &str, len: usize, seed: u64) {
    let m = model(source);
    let batch = random_batch(&m, len, seed).expect("random subjects are valid");
    let plain = evaluate_plain(&m, &batch);
    let shares = shares_of(&m, &batch);
    for (party, share) in PartyId::ALL.into_iter().zip(&shares) {
        assert_eq!(share.party(), party);
        assert_eq!(share.model(), m.id());
        assert_eq!(share.len(), len);
        assert_eq!(share.columns().len(), m.outputs().len());
    }
    let received = through_bytes(&shares);
    for (sent, got) in shares.iter().zip(&received) {
        assert_eq!(
            sent.to_bytes(),
            got.to_bytes(),
            "the encoding is deterministic"
        );
    }
    // Any order of the three shares reconstructs the same outputs.
    let reversed: Vec<OutputShare> = received.iter().rev().cloned().collect();
    for order in [&received[..], &reversed[..]] {
        let out = reconstruct(&m, order).expect("three matching shares");
        for (index, output) in m.outputs().iter().enumerate() {
            if let Some(row) = (0..len).find(|r| out.column(index)[*r] != plain.column(index)[*r]) {
                panic!(
                    "{}: output {} differs at subject {row}: plain {} requester {}",
                    m.name(),
                    output.name,
                    plain.column(index)[row],
                    out.column(index)[row]
                );
            }
        }
    }
    // A share alone looks random: (almost) no value equals the plaintext output, and the
    // top bit, always 0 in the small plaintext outputs, is set about half the time.
    for share in &shares {
        let mut equal = 0usize;
        let mut top = 0usize;
        let mut total = 0usize;
        for (index, column) in share.columns().iter().enumerate() {
            assert_ne!(
                column.as_slice(),
                plain_ring(plain.column(index)).as_slice()
            );
            for (s, p) in column.iter().zip(plain.column(index)) {
                equal += usize::from(*s == *p as u64);
                top += usize::from(*s >> 63 == 1);
                total += 1;
            }
        }
        assert_eq!(equal, 0, "{}: share values equal the output", m.name());
        let fraction = top as f64 / total as f64;
        assert!(
            (0.35..0.65).contains(&fraction),
            "{}: top bit set in {fraction} of {total} share values",
            m.name()
        );
    }
    // Fresh randomness each evaluation: the same batch gives other shares, same outputs.
    let again = shares_of(&m, &batch);
    for (a, b) in shares.iter().zip(&again) {
        assert_ne!(a.columns(), b.columns(), "shares are re-randomised per run");
    }
    assert_eq!(reconstruct(&m, &again).expect("second run"), plain);
}

fn plain_ring(column: &[i64]) -> Vec<u64> {
    column.iter().map(|v| *v as u64).collect()
}

#[test]
fn admission_v1_requester_reconstruction_equals_plaintext_on_300_subjects() {
    check_requester_path(ADMISSION_V1, 300, 101);
}

#[test]
fn periodic_v1_requester_reconstruction_equals_plaintext_on_300_subjects() {
    check_requester_path(PERIODIC_V1, 300, 102);
}

#[test]
fn an_empty_batch_gives_empty_shares_that_reconstruct() {
    let m = model(PERIODIC_V1);
    let batch = random_batch(&m, 0, 1).expect("empty is valid");
    let shares = through_bytes(&shares_of(&m, &batch));
    let out = reconstruct(&m, &shares).expect("empty shares");
    assert!(out.columns().iter().all(Vec::is_empty));
    assert_eq!(out.columns().len(), m.outputs().len());
}

/// Flips every bit of byte `at`.
fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0xff;
    out
}

#[test]
fn mismatched_shares_are_refused_by_name() {
    let admission = model(ADMISSION_V1);
    let periodic = model(PERIODIC_V1);
    let batch = random_batch(&admission, 300, 7).expect("valid");
    let [s0, s1, s2] = shares_of(&admission, &batch);
    let shorter = random_batch(&admission, 299, 8).expect("valid");
    let [_, _, short2] = shares_of(&admission, &shorter);
    let periodic_batch = random_batch(&periodic, 300, 9).expect("valid");
    let [_, _, other2] = shares_of(&periodic, &periodic_batch);

    let err = reconstruct(&admission, &[s0.clone(), s1.clone(), other2.clone()]).unwrap_err();
    assert_eq!(
        err,
        ReconstructError::ModelMismatch {
            party: PartyId::P2,
            found: periodic.id(),
            expected: admission.id(),
        }
    );
    // The periodic model's own shares against the admission model, whole.
    let err = reconstruct(&periodic, &[s0.clone(), s1.clone(), s2.clone()]).unwrap_err();
    assert!(
        matches!(err, ReconstructError::ModelMismatch { .. }),
        "{err}"
    );

    let err = reconstruct(&admission, &[s0.clone(), s1.clone(), short2]).unwrap_err();
    assert_eq!(
        err,
        ReconstructError::LenMismatch {
            party: PartyId::P2,
            found: 299,
            first_party: PartyId::P0,
            expected: 300,
        }
    );

    let err = reconstruct(&admission, &[s0.clone(), s1.clone(), s1.clone()]).unwrap_err();
    assert_eq!(err, ReconstructError::DuplicateParty { party: PartyId::P1 });
    let err = reconstruct(&admission, &[s0.clone(), s1.clone()]).unwrap_err();
    assert_eq!(err, ReconstructError::ShareCount { found: 2 });
    let four = [s0.clone(), s1.clone(), s2.clone(), s2.clone()];
    let err = reconstruct(&admission, &four).unwrap_err();
    assert_eq!(err, ReconstructError::ShareCount { found: 4 });

    // The same three shares reconstruct; the requester's error is not a false alarm.
    assert_eq!(
        reconstruct(&admission, &[s2, s0, s1]).expect("matching shares"),
        evaluate_plain(&admission, &batch)
    );
}

#[test]
fn corrupt_share_bytes_are_refused_by_name() {
    let m = model(ADMISSION_V1);
    let len = 300usize;
    let batch = random_batch(&m, len, 11).expect("valid");
    let [s0, s1, s2] = shares_of(&m, &batch);
    let bytes = s2.to_bytes();
    let columns = m.outputs().len();
    assert_eq!(bytes.len(), SHARE_HEADER_BYTES + 8 * columns * len);

    assert_eq!(
        OutputShare::from_bytes(&flipped(&bytes, 0)).unwrap_err(),
        ShareDecodeError::BadMagic
    );
    assert_eq!(
        OutputShare::from_bytes(&flipped(&bytes, 4)).unwrap_err(),
        ShareDecodeError::UnknownVersion {
            version: SHARE_FORMAT_VERSION ^ 0xff,
            supported: SHARE_FORMAT_VERSION,
        }
    );
    assert_eq!(
        OutputShare::from_bytes(&flipped(&bytes, 5)).unwrap_err(),
        ShareDecodeError::BadParty { index: 2 ^ 0xff }
    );
    // P2's share with byte `at` of its header flipped, against the others' good shares.
    let refused = |at: usize| {
        let share = OutputShare::from_bytes(&flipped(&bytes, at)).expect("header is well formed");
        reconstruct(&m, &[s0.clone(), s1.clone(), share]).unwrap_err()
    };
    // A changed model id decodes but does not reconstruct.
    for at in 6..38 {
        let err = refused(at);
        assert!(
            matches!(err, ReconstructError::ModelMismatch { .. }),
            "{err}"
        );
    }
    // A changed request id or subject-list digest decodes but does not reconstruct.
    for at in 38..102 {
        let err = refused(at);
        assert!(
            matches!(err, ReconstructError::BindingMismatch { .. }),
            "byte {at}: {err}"
        );
    }
    // A changed subject count no longer matches the body (or exceeds the limit).
    for at in 102..106 {
        let err = OutputShare::from_bytes(&flipped(&bytes, at)).unwrap_err();
        assert!(
            matches!(
                err,
                ShareDecodeError::TooManySubjects { .. } | ShareDecodeError::Truncated { .. }
            ),
            "byte {at}: {err}"
        );
    }
    for at in 106..110 {
        let err = OutputShare::from_bytes(&flipped(&bytes, at)).unwrap_err();
        assert!(
            matches!(err, ShareDecodeError::TooManyColumns { .. }),
            "byte {at}: {err}"
        );
    }
    // The top byte of one value: the sum moves by a multiple of 2^56, out of any range.
    for (output, subject) in [(0usize, 0usize), (columns - 1, 17), (columns / 2, len - 1)] {
        let at = SHARE_HEADER_BYTES + 8 * (output * len + subject);
        let share = OutputShare::from_bytes(&flipped(&bytes, at)).expect("values are any u64");
        let err = reconstruct(&m, &[s0.clone(), s1.clone(), share]).unwrap_err();
        assert_eq!(
            err,
            ReconstructError::OutOfRange {
                output: m.outputs()[output].name.clone(),
                subject,
                range: m.outputs()[output].range,
            }
        );
    }

    assert_eq!(
        OutputShare::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err(),
        ShareDecodeError::Truncated {
            declared: (8 * columns * len) as u64,
            found: 8 * columns * len - 1,
        }
    );
    assert_eq!(
        OutputShare::from_bytes(&bytes[..10]).unwrap_err(),
        ShareDecodeError::TooShort {
            len: 10,
            header: SHARE_HEADER_BYTES,
        }
    );
    assert_eq!(
        OutputShare::from_bytes(&[]).unwrap_err(),
        ShareDecodeError::TooShort {
            len: 0,
            header: SHARE_HEADER_BYTES,
        }
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        OutputShare::from_bytes(&longer).unwrap_err(),
        ShareDecodeError::TrailingBytes { extra: 1 }
    );
}

/// A header declaring `len` subjects and `columns` columns, followed by `body` bytes.
fn header(len: u32, columns: u32, body: usize) -> Vec<u8> {
    let mut out = SHARE_MAGIC.to_vec();
    out.push(SHARE_FORMAT_VERSION);
    out.push(1);
    out.extend_from_slice(&[0x5a; 32]);
    out.extend_from_slice(&[0x11; 64]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&columns.to_be_bytes());
    out.resize(out.len() + body, 0);
    out
}

#[test]
fn oversize_length_prefixes_are_refused_before_allocating() {
    let max_len = u32::try_from(OUTPUT_SUBJECTS_MAX).expect("fits");
    let max_columns = u32::try_from(OUTPUT_COLUMNS_MAX).expect("fits");
    assert_eq!(
        OutputShare::from_bytes(&header(u32::MAX, 1, 8)).unwrap_err(),
        ShareDecodeError::TooManySubjects {
            len: u64::from(u32::MAX),
            max: OUTPUT_SUBJECTS_MAX,
        }
    );
    assert_eq!(
        OutputShare::from_bytes(&header(max_len + 1, 1, 0)).unwrap_err(),
        ShareDecodeError::TooManySubjects {
            len: u64::from(max_len) + 1,
            max: OUTPUT_SUBJECTS_MAX,
        }
    );
    assert_eq!(
        OutputShare::from_bytes(&header(1, u32::MAX, 0)).unwrap_err(),
        ShareDecodeError::TooManyColumns {
            columns: u64::from(u32::MAX),
            max: OUTPUT_COLUMNS_MAX,
        }
    );
    assert_eq!(
        OutputShare::from_bytes(&header(1, max_columns + 1, 0)).unwrap_err(),
        ShareDecodeError::TooManyColumns {
            columns: u64::from(max_columns) + 1,
            max: OUTPUT_COLUMNS_MAX,
        }
    );
    // Within the limits, but the bytes are not there: refused from the header alone
    // (decoding would otherwise reserve 512 MB).
    assert_eq!(
        OutputShare::from_bytes(&header(max_len, max_columns, 16)).unwrap_err(),
        ShareDecodeError::Truncated {
            declared: 8 * u64::from(max_len) * u64::from(max_columns),
            found: 16,
        }
    );
    let share = OutputShare::from_bytes(&header(2, 3, 48)).expect("a small share decodes");
    assert_eq!((share.len(), share.columns().len()), (2, 3));
    assert_eq!(share.party(), PartyId::P1);
    let debug = format!("{share:?}");
    assert!(debug.contains("redacted"), "{debug}");
}

/// The input errors from_columns gives for `columns` of `holder`.
fn from_columns_error(
    m: &Model,
    holder: Holder,
    len: usize,
    columns: Vec<(usize, Vec<i64>)>,
) -> InputError {
    match PartyInputs::from_columns(m, holder, len, columns) {
        Ok(_) => panic!("columns accepted"),
        Err(e) => e,
    }
}

#[test]
fn from_columns_accepts_only_the_holders_complete_valid_columns() {
    let m = model(ADMISSION_V1);
    let len = 20;
    let batch = random_batch(&m, len, 21).expect("valid");
    for holder in Holder::ALL {
        let good = own_columns(&m, &batch, holder);
        assert!(!good.is_empty(), "admission reads from {holder}");
        let own = PartyInputs::from_columns(&m, holder, len, good.clone()).expect("own columns");
        assert_eq!((own.holder(), own.len()), (holder, len));

        // Another department's column.
        let foreign = (0..m.inputs().len())
            .find(|i| m.inputs()[*i].holder != holder)
            .expect("another holder's input");
        let mut with_foreign = good.clone();
        with_foreign.push((foreign, batch.column(foreign).to_vec()));
        assert_eq!(
            from_columns_error(&m, holder, len, with_foreign),
            InputError::NotHeldBy {
                input: m.inputs()[foreign].name.clone(),
                holder: m.inputs()[foreign].holder,
                given: holder,
            }
        );

        // A missing column.
        let (dropped, _) = good[good.len() / 2].clone();
        let missing: Vec<_> = good
            .iter()
            .filter(|(i, _)| *i != dropped)
            .cloned()
            .collect();
        assert_eq!(
            from_columns_error(&m, holder, len, missing),
            InputError::MissingInput {
                input: m.inputs()[dropped].name.clone(),
                holder,
            }
        );

        // The same column twice.
        let mut twice = good.clone();
        twice.push(good[0].clone());
        assert_eq!(
            from_columns_error(&m, holder, len, twice),
            InputError::DuplicateInput {
                input: m.inputs()[good[0].0].name.clone(),
            }
        );

        // A column of the wrong length.
        let mut short = good.clone();
        short[0].1.pop();
        assert!(matches!(
            from_columns_error(&m, holder, len, short),
            InputError::Shape { .. }
        ));

        // An index the model does not have.
        let mut unknown = good.clone();
        unknown.push((m.inputs().len(), vec![0; len]));
        assert_eq!(
            from_columns_error(&m, holder, len, unknown),
            InputError::UnknownInput {
                index: m.inputs().len(),
                inputs: m.inputs().len(),
            }
        );

        // A value one past the declared maximum, in every column of this holder.
        for (k, (index, _)) in good.iter().enumerate() {
            let input = &m.inputs()[*index];
            let mut bad = good.clone();
            bad[k].1[3] = input.range.max + 1;
            let err = from_columns_error(&m, holder, len, bad);
            assert!(
                matches!(
                    &err,
                    InputError::OutOfRange { column, value, line: 3, .. }
                        if *column == input.name && *value == input.range.max + 1
                ),
                "{}: {err}",
                input.name
            );
            if input.value_type == ValueType::Bool {
                assert_eq!(input.range.max, 1, "bools are 0 or 1");
            }
        }
    }
    // An optional value present although its known-flag says absent.
    let (index, input) = m
        .inputs()
        .iter()
        .enumerate()
        .find(|(_, i)| {
            matches!(
                i.source,
                InputSource::Column {
                    optional: Some(_),
                    ..
                }
            )
        })
        .expect("admission has an optional input");
    let InputSource::Column {
        optional: Some((fill, flag)),
        ..
    } = input.source
    else {
        unreachable!("found above");
    };
    let mut columns = own_columns(&m, &batch, input.holder);
    for (i, column) in &mut columns {
        if *i == flag.index() {
            column[5] = 0;
        }
        if *i == index {
            column[5] = if fill == input.range.min {
                input.range.min + 1
            } else {
                input.range.min
            };
        }
    }
    let err = from_columns_error(&m, input.holder, len, columns);
    assert!(err.to_string().contains("not its fill value"), "{err}");
}

#[test]
fn party_inputs_for_another_party_model_or_length_fail_cleanly() {
    let m = model(PERIODIC_V1);
    let other = model(ADMISSION_V1);
    let batch = random_batch(&m, 10, 31).expect("valid");
    let other_batch = random_batch(&other, 10, 32).expect("valid");
    for case in 0..3 {
        let results = run_three_each(|party| {
            let mut holder = Holder::ALL[party.id().index()];
            let (model_for_inputs, batch_for_inputs) = if case == 1 {
                (&other, &other_batch)
            } else {
                (&m, &batch)
            };
            if case == 0 {
                holder = Holder::ALL[party.id().next().index()];
            }
            let len = if case == 2 { 9 } else { 10 };
            let own = PartyInputs::of(model_for_inputs, batch_for_inputs, holder);
            evaluate_party_for_requester(party, &m, len, &own)
        })
        .expect("set up");
        for result in results {
            let err = result.expect_err("mismatched inputs");
            assert!(matches!(err, MpcError::Setup { .. }), "case {case}: {err}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes decode or are refused; nothing panics.
    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = OutputShare::from_bytes(&bytes);
    }

    /// Bytes behind a valid magic and version reach the size checks; nothing panics, and
    /// whatever decodes re-encodes to the same bytes.
    #[test]
    fn headers_with_valid_magic_never_panic_and_round_trip(
        party in any::<u8>(),
        len in prop_oneof![0u32..8, any::<u32>()],
        columns in prop_oneof![0u32..8, any::<u32>()],
        mut body in proptest::collection::vec(any::<u8>(), 0..512),
        exact in any::<bool>(),
    ) {
        let declared = u128::from(len) * u128::from(columns) * 8;
        if exact && declared <= 4096 {
            body.resize(usize::try_from(declared).expect("small"), 0xa5);
        }
        let mut bytes = SHARE_MAGIC.to_vec();
        bytes.push(SHARE_FORMAT_VERSION);
        bytes.push(party);
        bytes.extend_from_slice(&[1; 32]);
        bytes.extend_from_slice(&[2; 64]);
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&columns.to_be_bytes());
        bytes.extend_from_slice(&body);
        if let Ok(share) = OutputShare::from_bytes(&bytes) {
            prop_assert!(party <= 2);
            prop_assert_eq!(body.len() as u128, declared);
            prop_assert_eq!(share.to_bytes(), bytes);
        }
    }
}

/// Two engine chunks: the shares of each chunk land at the right subjects.
#[test]
fn a_batch_over_one_chunk_reconstructs_in_order() {
    let m = model(PERIODIC_V1);
    let len = weinong_mpc::model::limits::MPC_SUBJECT_CHUNK_LEN + 3;
    let batch = random_batch(&m, len, 41).expect("valid");
    let shares = shares_of(&m, &batch);
    assert_eq!(
        reconstruct(&m, &shares).expect("three matching shares"),
        evaluate_plain(&m, &batch)
    );
}
