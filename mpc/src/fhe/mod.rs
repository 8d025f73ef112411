//! The FHE backend: the assessment-model IR evaluated under TFHE (tfhe-rs, high-level
//! integer API), so that one node computes on ciphertexts only.
//!
//! # Trust model
//!
//! - The **requester** (a care home) generates a TFHE client key ([`RequesterKeys`]) and
//!   publishes, with its assessment request, the compact public key ([`EncryptionKey`]) and
//!   the compressed server key ([`EvaluationKey`]). It keeps the client key; it is the only
//!   party that can decrypt, and it decrypts only the outputs.
//! - Each **department** encrypts the inputs it holds for the subject under the compact
//!   public key ([`encrypt_inputs`]) and sends them to one evaluating node.
//! - The **evaluator** ([`Evaluator`]) runs the model's IR homomorphically with the server
//!   key, which lets it compute but not decrypt, and returns the encrypted outputs
//!   ([`EncryptedOutputs`]) to the requester.
//!
//! No node holds the secret key, the evaluator sees only ciphertexts and the requester sees
//! only the outputs. **Collusion assumption: the evaluator and the requester must not
//! collude** — the requester's client key decrypts every input ciphertext the evaluator
//! received. Security is semi-honest like the MPC backend: an evaluator that computes
//! something else gives a wrong result (a department can always lie about its own inputs;
//! the ciphertexts prove no range), and what is computed is the registered model's IR.
//! Departments' encrypted values are checked against the declared ranges before encryption;
//! the evaluator checks every blob's size, type, parameters and element count.
//!
//! # What it owns, and what it must not know
//!
//! It owns the pinned parameter set ([`params`]), key and ciphertext (de)serialization with
//! size limits ([`limits`]), the width plan ([`Plan`]) and the evaluator. It executes the
//! same [`crate::model::Ir`] as the plaintext and MPC backends and must agree with the
//! plaintext one exactly. It knows nothing of the ledger, the node, HTTP or files; bytes in,
//! bytes out.
//!
//! # Widths and operations
//!
//! Each IR value is encrypted as the smallest `FheIntN` (N = 2, 4, 8, 12, 16, 32, 64: one
//! radix block or an even number of them, which tfhe's CUDA backend needs) that holds
//! its proven range, conditions as `FheBool`. Constants fold; one public side uses tfhe's
//! scalar operations; sums use tfhe's multi-operand addition (a carry-save tree); the nodes
//! of one IR level run in parallel on a rayon pool whose workers each have the server key
//! installed (tfhe keeps it per thread). See [`eval`] for the per-operation choices.
//!
//! # GPU
//!
//! The `gpu` feature adds tfhe's CUDA backend. The parameters stay pinned to the CPU set,
//! so keys, inputs and outputs are the same bytes either way. [`Evaluator::new`] puts the
//! server key on the GPU when one is visible ([`Device::available`]) and runs the same IR
//! with the same operations there; each worker thread has its own CUDA streams, so the
//! nodes of one level still overlap. Two constraints of tfhe-cuda-backend 0.16 shape the
//! plan: ordered comparisons need an even number of radix blocks (hence the widths above),
//! and ordering two ciphertexts of two blocks aborts, so on the GPU such a comparison is
//! made at four blocks.
//!
//! Building with `gpu` needs the CUDA toolkit (nvcc 12+, CMake) for `tfhe-cuda-backend`, and
//! running it needs a CUDA driver (tfhe's C code aborts without one); the default build has
//! no CUDA dependency. Checked on an NVIDIA H200 (CUDA 13.0): `tests/fhe.rs` passes with the
//! evaluator on the GPU, and `benches/fhe_eval.rs` evaluates one admission-v1 subject in
//! about 0.45 s against 2.3 s on that machine's 16 CPU cores. Known wart: a process can
//! abort with "driver shutting down" while exiting, after its work, when a thread that used
//! tfhe's thread-local CUDA streams ends after the CUDA runtime was torn down.

pub mod cipher;
pub mod encrypt;
pub mod error;
pub mod eval;
pub mod keys;
pub mod limits;
pub mod params;
pub mod plan;
pub mod session;
pub mod wire;

pub use cipher::Kind;
pub use encrypt::encrypt_inputs;
pub use error::FheError;
pub use eval::{Device, EvalReport, Evaluator};
pub use keys::{EncryptionKey, EvaluationKey, RequesterKeys};
pub use plan::Plan;
pub use session::{FheSession, SubjectReport};
pub use wire::EncryptedOutputs;
