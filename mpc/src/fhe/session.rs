//! All three roles in one process, for `weinong model eval --backend fhe`, tests and
//! benchmarks: the requester's keys, each department's encryption, one evaluator.
//!
//! Every subject takes the full path the roles would take across machines: each holding
//! department encrypts its inputs and serializes them, the evaluator deserializes and
//! checks them, evaluates and serializes the outputs, and the requester reads and decrypts
//! them. Subjects are evaluated one after another, each using the whole worker pool.

use std::time::Instant;

use crate::model::{InputBatch, Model, OutputBatch};

use super::encrypt::encrypt_inputs;
use super::error::FheError;
use super::eval::{EvalReport, Evaluator};
use super::keys::{EncryptionKey, EvaluationKey, RequesterKeys};
use super::plan::Plan;
use super::wire::EncryptedOutputs;

/// The requester's keys, the departments' encryption key and an evaluator, in one process.
pub struct FheSession {
    requester: RequesterKeys,
    encryption: EncryptionKey,
    evaluator: Evaluator,
}

/// Byte counts of one subject's run.
#[derive(Clone, Debug, Default)]
pub struct SubjectReport {
    /// Encrypted input bytes per holding department, in `Model::holders` order.
    pub input_bytes: Vec<(crate::model::Holder, usize)>,
    /// Encrypted output bytes sent to the requester.
    pub output_bytes: usize,
    /// Departments' encryption time (all of them, one after another).
    pub encrypt: std::time::Duration,
    /// The evaluator's timings and operation counts.
    pub eval: EvalReport,
    /// The requester's decryption time.
    pub decrypt: std::time::Duration,
}

impl FheSession {
    /// Generates fresh requester keys and starts an evaluator with `threads` workers (0: one
    /// per core).
    pub fn generate(threads: usize) -> Result<FheSession, FheError> {
        let requester = RequesterKeys::generate();
        let encryption = requester.encryption_key();
        let evaluation = requester.evaluation_key();
        FheSession::from_keys(requester, encryption, &evaluation, threads)
    }

    /// A session over existing keys.
    pub fn from_keys(
        requester: RequesterKeys,
        encryption: EncryptionKey,
        evaluation: &EvaluationKey,
        threads: usize,
    ) -> Result<FheSession, FheError> {
        Ok(FheSession {
            requester,
            encryption,
            evaluator: Evaluator::new(evaluation, threads)?,
        })
    }

    /// The requester's keys.
    pub fn requester(&self) -> &RequesterKeys {
        &self.requester
    }

    /// The departments' encryption key.
    pub fn encryption_key(&self) -> &EncryptionKey {
        &self.encryption
    }

    /// The evaluator.
    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    /// Evaluates every subject of `batch` under encryption.
    pub fn evaluate_batch(
        &self,
        model: &Model,
        batch: &InputBatch,
    ) -> Result<OutputBatch, FheError> {
        self.evaluate_batch_with_reports(model, batch)
            .map(|(outputs, _)| outputs)
    }

    /// Like [`FheSession::evaluate_batch`], also returning each subject's report.
    pub fn evaluate_batch_with_reports(
        &self,
        model: &Model,
        batch: &InputBatch,
    ) -> Result<(OutputBatch, Vec<SubjectReport>), FheError> {
        let plan = Plan::new(model);
        let mut columns: Vec<Vec<i64>> =
            vec![Vec::with_capacity(batch.len()); model.outputs().len()];
        let mut reports = Vec::with_capacity(batch.len());
        for row in 0..batch.len() {
            let (outputs, report) = self.evaluate_subject(model, &plan, batch, row)?;
            for (column, value) in columns.iter_mut().zip(outputs) {
                column.push(value);
            }
            reports.push(report);
        }
        Ok((OutputBatch { columns }, reports))
    }

    fn evaluate_subject(
        &self,
        model: &Model,
        plan: &Plan,
        batch: &InputBatch,
        row: usize,
    ) -> Result<(Vec<i64>, SubjectReport), FheError> {
        let mut report = SubjectReport::default();
        let started = Instant::now();
        let mut lists = Vec::new();
        for holder in model.holders() {
            let values: Vec<i64> = Plan::holder_inputs(model, holder)
                .iter()
                .map(|i| batch.column(*i)[row])
                .collect();
            let bytes = encrypt_inputs(model, plan, holder, &values, &self.encryption)?;
            report.input_bytes.push((holder, bytes.len()));
            lists.push((holder, bytes));
        }
        report.encrypt = started.elapsed();
        let borrowed: Vec<(crate::model::Holder, &[u8])> =
            lists.iter().map(|(h, b)| (*h, b.as_slice())).collect();
        let (outputs, eval) = self.evaluator.evaluate(model, plan, &borrowed)?;
        report.eval = eval;
        let wire = outputs.to_bytes()?;
        report.output_bytes = wire.len();
        let started = Instant::now();
        let values = self.requester.decrypt_outputs(plan, &wire)?;
        report.decrypt = started.elapsed();
        Ok((values, report))
    }
}

impl RequesterKeys {
    /// Reads the evaluator's encrypted outputs for one subject and decrypts them, in model
    /// output order.
    pub fn decrypt_outputs(&self, plan: &Plan, bytes: &[u8]) -> Result<Vec<i64>, FheError> {
        let outputs = EncryptedOutputs::from_bytes(bytes, plan.output_kinds())?;
        Ok(outputs
            .values()
            .iter()
            .map(|v| v.decrypt(self.client_key()))
            .collect())
    }
}
