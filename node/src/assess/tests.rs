//! Step 5's gate on three real libp2p nodes ([`crate::mpc_session`]'s test network): a
//! department whose committed access does not cover the category of an input it holds
//! opens no MPC stream, so nothing of its inputs reaches the peers, who see it never join;
//! with covering accesses the same three run the shipped admission model to the plaintext
//! result (so the refusal is the gate's doing, not a broken set-up).

use std::time::Duration;

use weinong_contracts::DataCategory;
use weinong_mpc::model::{
    ADMISSION_V1, OutputShare, compile, evaluate_plain, reconstruct, sample::random_batch,
};

use super::*;
use crate::categories::contributed;
use crate::mpc_session::tests::{Node, plans, three_nodes};

/// One party's step 5: the gate, then its own columns of `batch` into the session.
async fn party(
    node: &Node,
    plan: SessionPlan,
    model: &Model,
    committed: CategorySet,
    columns: Vec<(usize, Vec<i64>)>,
    timeout: Duration,
) -> Result<OutputShare, Failure> {
    let holder = Holder::ALL[usize::from(plan.me.as_u8())];
    let coverage = Coverage {
        model,
        holder,
        committed,
    };
    let session = join_covered(&node.net, &node.streams, plan, timeout, &coverage).await?;
    let model = model.clone();
    session
        .run(move |party| evaluate_one(party, &model, holder, columns))
        .await
        .map_err(|e| Failure::new(FailureReason::ComputationAborted, e.to_string()))
}

/// Each holder's columns of `batch` (input index, values).
fn own_columns(
    model: &Model,
    batch: &weinong_mpc::model::InputBatch,
) -> [Vec<(usize, Vec<i64>)>; 3] {
    Holder::ALL.map(|holder| {
        model
            .inputs()
            .iter()
            .enumerate()
            .filter(|(_, i)| i.holder == holder)
            .map(|(index, _)| (index, batch.column(index).to_vec()))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_whose_committed_access_omits_a_category_sends_nothing() {
    let nodes = three_nodes().await;
    let model = compile(ADMISSION_V1).expect("shipped model");
    let batch = random_batch(&model, 1, 18).expect("valid sample");
    let full = Holder::ALL.map(|h| contributed(&model, h).expect("known categories"));
    let timeout = Duration::from_secs(4);

    // Health's access as committed omits screens (MMSE, AD8, Braden, MNA-SF, Morse items).
    let omitted = full[1].minus(CategorySet::of(&[DataCategory::Screens]));
    let [c0, c1, c2] = own_columns(&model, &batch);
    let [p0, p1, p2] = plans(&nodes, 41);
    let (r0, r1, r2) = tokio::join!(
        party(&nodes[0], p0, &model, full[0], c0, timeout),
        party(&nodes[1], p1, &model, omitted, c1, timeout),
        party(&nodes[2], p2, &model, full[2], c2, timeout),
    );
    let Err(refused) = r1 else {
        panic!("health must refuse");
    };
    assert_eq!(refused.reason, FailureReason::ConsentMissing);
    assert!(
        refused.detail.contains("mmse_total (screens)") && refused.detail.contains("no session"),
        "{}",
        refused.detail
    );
    // What crossed the streams: nothing from health. Its peers waited for its hello or its
    // acknowledgement and never got one, and say so, naming it.
    let health = nodes[1].id().to_string();
    for (name, result) in [("civil affairs", r0), ("medical insurance", r2)] {
        let Err(failure) = result else {
            panic!("{name}: no session without health");
        };
        assert_eq!(failure.reason, FailureReason::ComputationAborted, "{name}");
        assert!(
            failure.detail.contains("did not join") && failure.detail.contains(&health),
            "{name}: {}",
            failure.detail
        );
    }

    // The control: with covering accesses the same nodes compute the plaintext result.
    let [c0, c1, c2] = own_columns(&model, &batch);
    let [p0, p1, p2] = plans(&nodes, 42);
    let timeout = Duration::from_secs(30);
    let (r0, r1, r2) = tokio::join!(
        party(&nodes[0], p0, &model, full[0], c0, timeout),
        party(&nodes[1], p1, &model, full[1], c1, timeout),
        party(&nodes[2], p2, &model, full[2], c2, timeout),
    );
    let shares: Vec<OutputShare> = [r0, r1, r2]
        .into_iter()
        .map(|r| r.map_err(|f| f.detail).expect("covered parties compute"))
        .collect();
    let opened = reconstruct(&model, &shares).expect("three shares");
    assert_eq!(opened.row(0), evaluate_plain(&model, &batch).row(0));
}
