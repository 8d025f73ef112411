//! Start-up reads: the keystore password, the node's key, the department's data secrets
//! and the genesis document, each failing with the config field to fix.

use anyhow::{Context, bail};
use weinong_contracts::Genesis;
use weinong_keys::{DataSecrets, KeyPair, Zeroizing, open_keystore};

use super::PASSWORD_ENV;
use crate::config::NodeConfig;

/// The keystore password: the first line of `password_file` (refused unless only its owner
/// can read it), else `WEINONG_KEY_PASSWORD`; zeroized when dropped.
pub(super) fn load_password(config: &NodeConfig) -> anyhow::Result<Zeroizing<String>> {
    match &config.password_file {
        Some(p) => weinong_keys::read_password_file(p).context("field `password_file`"),
        None => std::env::var(PASSWORD_ENV)
            .map(Zeroizing::new)
            .with_context(|| {
                format!("no `password_file` in the config and {PASSWORD_ENV} is not set")
            }),
    }
}

/// The node's ledger key from its keystore.
pub(super) fn load_key(
    config: &NodeConfig,
    password: &Zeroizing<String>,
) -> anyhow::Result<KeyPair> {
    let text = std::fs::read_to_string(&config.keystore).with_context(|| {
        format!(
            "cannot read keystore {} (field `keystore`)",
            config.keystore.display()
        )
    })?;
    open_keystore(&text, password.as_bytes())
        .with_context(|| format!("cannot open keystore {}", config.keystore.display()))
}

/// Opens the assessment section's data secrets with the keystore password at start-up, so
/// a wrong password, a tampered file or a plaintext file of an older weinong stops the
/// node with its message instead of failing an assessment later. Returns the consortium's
/// pseudonym (OPRF) key derived from the secrets' pepper, for `/v1/pseudonyms/evaluate`;
/// everything else is dropped (zeroized) again: the assessor reads features, not
/// identities.
pub(super) fn load_data_secrets(
    section: &crate::config::AssessmentSection,
    password: &Zeroizing<String>,
) -> anyhow::Result<weinong_keys::PseudonymKey> {
    let path = &section.data_secrets;
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "assessment.data_secrets: cannot read {} (write it with `weinong data secrets`)",
            path.display()
        )
    })?;
    if meta.len() > weinong_keys::SEALED_SECRETS_BYTES_MAX as u64 {
        bail!("assessment.data_secrets: {} is too large", path.display());
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("assessment.data_secrets: cannot read {}", path.display()))?,
    );
    let secrets = DataSecrets::open(&text, password.as_bytes()).with_context(|| {
        format!(
            "assessment.data_secrets: cannot open {} with the keystore password",
            path.display()
        )
    })?;
    Ok(weinong_keys::PseudonymKey::new(&secrets.pepper))
}

/// The genesis document the config names.
pub(super) fn load_genesis(config: &NodeConfig) -> anyhow::Result<Genesis> {
    let bytes = std::fs::read(&config.genesis).with_context(|| {
        format!(
            "cannot read genesis {} (field `genesis`)",
            config.genesis.display()
        )
    })?;
    Genesis::decode(&bytes)
        .with_context(|| format!("genesis {} does not decode", config.genesis.display()))
}
